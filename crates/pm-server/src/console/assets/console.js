// pm-mcp console: small enhancements; every form works without this script.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  // Copy buttons: data-copy names the element whose text is copied; the outcome is announced.
  const announce = document.createElement('p');
  announce.className = 'sr-only';
  announce.setAttribute('aria-live', 'polite');
  document.body.append(announce);
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const label = button.firstChild.textContent;
      try {
        await navigator.clipboard.writeText(source.textContent);
        button.firstChild.textContent = 'Copied';
        announce.textContent = 'Copied to the clipboard.';
      } catch {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        button.firstChild.textContent = 'Selected: press Ctrl+C';
        announce.textContent = 'Selected: press Control C to copy.';
      }
      setTimeout(() => { button.firstChild.textContent = label; }, 2500);
    });
  }
  // Destructive buttons ask first.
  for (const button of document.querySelectorAll('button[data-confirm]')) {
    button.addEventListener('click', (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
  // The tracker form shows only the chosen tracker's fields and help.
  const chooser = document.querySelector('select[data-switch="tracker"]');
  if (chooser) {
    const form = chooser.form;
    const show = () => {
      for (const part of form.querySelectorAll('[data-for]')) {
        const wanted = part.dataset.for.split(' ').includes(chooser.value);
        part.hidden = !wanted;
        for (const input of part.querySelectorAll('input, select')) input.disabled = !wanted;
      }
    };
    chooser.addEventListener('change', show);
    show();
  }
});
