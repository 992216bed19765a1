// Progressive enhancement only: every page works without this script.
// Forms marked data-confirm ask before they are sent; the first error on a page gets focus,
// so that keyboard and screen-reader users land on it.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
document.addEventListener("DOMContentLoaded", () => {
  const error = document.getElementById("error");
  if (error) {
    error.setAttribute("tabindex", "-1");
    error.focus();
  }
});
