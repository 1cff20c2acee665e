// Swagger UI for the local API (templates/api_docs.html): the document at /api/openapi.json, nothing from the network.
window.addEventListener("load", function () {
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  window.ui = SwaggerUIBundle({
    url: document.body.dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    // The console's cookie session needs its CSRF token on every state-changing request (access.py);
    // a script uses "Authorize" with the API token instead.
    requestInterceptor: function (request) {
      if (csrf) request.headers["X-CSRF-Token"] = csrf;
      return request;
    },
  });
});
