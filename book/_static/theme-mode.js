// First visit: the theme's inline script leaves the colour mode empty; "auto" is what it resets to anyway.
if (!document.documentElement.dataset.mode) {
  document.documentElement.dataset.mode = "auto";
}
