// Loaded between RequireJS and the ipywidgets HTML manager (see nb_ipywidgets_js in _config.yml).
// The manager (served from _static/widgets/, fetched by tools/fetch_web_assets.sh) finds its icon
// fonts relative to its own module path; tell RequireJS where that path is on this site, so the
// fonts come from the site itself at any page depth and never from a CDN.
(function () {
  var staticDir = document.currentScript.src.replace(/[^/]*$/, "");
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": staticDir + "widgets" } });
})();
