/* The console's language (templates/language_switch.html): Chinese as written, or English, which i18n-en.js
 * (loaded only then, so the Chinese page does not carry the dictionary) puts in place of the Chinese texts. */
"use strict";

(function () {
  const KEY = "wxwork-console-language";
  const script = document.currentScript;
  let language = "zh";
  try {
    if (localStorage.getItem(KEY) === "en") language = "en";
  } catch {
    // Storage refused by the browser's settings: Chinese, and the switch cannot keep a choice.
  }
  document.documentElement.lang = language === "en" ? "en" : "zh-CN";
  window.wxworkI18n = { language };
  if (language === "en") {
    document.head.append(Object.assign(document.createElement("script"), { src: script.dataset.english }));
  }

  function wire() {
    for (const button of document.querySelectorAll("[data-language]")) {
      const chosen = button.dataset.language;
      button.setAttribute("aria-pressed", String(chosen === language));
      button.addEventListener("click", () => {
        if (chosen === language) return;
        try {
          localStorage.setItem(KEY, chosen);
        } catch {
          return;
        }
        window.location.reload();
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", wire);
  else wire();
})();
