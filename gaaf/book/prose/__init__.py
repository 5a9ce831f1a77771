"""The sentences and tables of one chapter each, computed from the records, named for
the chapter that shows them."""
