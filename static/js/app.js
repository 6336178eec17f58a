// Console behaviour: confirmation dialogs, copy buttons, dropdown menus and dismissible messages.
// Everything here is progressive: without JavaScript, links open full confirmation pages instead.
(function () {
  "use strict";

  function confirmDialog() {
    return document.getElementById("confirm-dialog");
  }

  // A destructive link fetches its confirmation form (hx-get into #dialog-body); show it as a modal.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "dialog-body") return;
    const dialog = confirmDialog();
    if (!dialog.open) dialog.showModal();
    const cancel = dialog.querySelector("[data-dialog-close]");
    if (cancel) cancel.focus();
  });

  // If htmx can't fetch a page (403, 404, expired session), let the browser show the real page.
  document.addEventListener("htmx:responseError", function (event) {
    const path = event.detail.pathInfo && event.detail.pathInfo.requestPath;
    if (path && event.detail.requestConfig.verb === "get") window.location.assign(path);
  });

  document.addEventListener("close", function (event) {
    if (event.target === confirmDialog()) document.getElementById("dialog-body").replaceChildren();
  }, true);

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    // Plain-http deployments have no async clipboard API.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    return Promise.resolve();
  }

  function copyFrom(button) {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = "value" in source ? source.value : source.textContent;
    copyText(text).then(function () {
      const label = button.querySelector("span");
      const before = label ? label.textContent : "";
      if (label) label.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () {
        if (label) label.textContent = before;
        button.classList.remove("copied");
      }, 1600);
    });
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    const close = target.closest("[data-dialog-close]");
    if (close && close.closest("dialog")) {
      event.preventDefault();
      close.closest("dialog").close();
      return;
    }
    if (target === confirmDialog()) {
      // A click on the backdrop lands on the <dialog> itself.
      target.close();
      return;
    }
    const copy = target.closest("[data-copy]");
    if (copy) {
      copyFrom(copy);
      return;
    }
    const dismiss = target.closest("[data-dismiss]");
    if (dismiss) {
      dismiss.parentElement.remove();
      return;
    }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
    });
  });
})();
