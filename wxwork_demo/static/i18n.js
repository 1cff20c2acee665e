/* The language switch: Chinese as written, or English (i18n-en.js, loaded only then), kept in localStorage. */
"use strict";
(function () {
  const KEY = "wxwork-console-language";
  const english = document.currentScript.dataset.english;
  let language = "zh";
  try {
    if (localStorage.getItem(KEY) === "en") language = "en";
  } catch {
    // Storage refused by the browser: Chinese, and no choice kept.
  }
  document.documentElement.lang = language === "en" ? "en" : "zh-CN";
  window.wxworkI18n = { language };
  if (language === "en") document.head.append(Object.assign(document.createElement("script"), { src: english }));
  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-language]")) {
      const chosen = button.dataset.language;
      button.setAttribute("aria-pressed", String(chosen === language));
      button.addEventListener("click", () => {
        if (chosen === language) return;
        try {
          localStorage.setItem(KEY, chosen);
          window.location.reload();
        } catch {
          // As above.
        }
      });
    }
  });
})();
