// The ipywidgets embed manager typesets widget labels through the MathJax 2 API
// (MathJax.Hub.Queue); the book loads MathJax 3, where that call throws. Forward it.
// Loaded deferred, right after MathJax 3's own script, and before widgets render.
(function () {
  if (!window.MathJax || window.MathJax.Hub) return;
  window.MathJax.Hub = {
    Queue: function (command) {
      var element = command && command[2];
      var startup = window.MathJax.startup;
      if (element && startup && startup.promise) {
        startup.promise.then(function () { return window.MathJax.typesetPromise([element]); });
      }
    },
  };
})();
