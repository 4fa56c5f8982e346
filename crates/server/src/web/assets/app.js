// The web UI's only script, served as a file so that the Content-Security-Policy allows no
// inline script (see web/security_headers.rs). Every page works without it: it only adds
// copy buttons and makes the Create a key form follow its menus and typing at once.

// Copy buttons beside the fields of a new key (the page that shows it once), and beside the
// long ids the pages cut short (values.rs `long_id`), which copy the id whole.
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll('[data-copy-text]').forEach(function (place) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + place.getAttribute('data-copy-what'));
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(place.getAttribute('data-copy-text')).then(function () { button.textContent = 'Copied'; });
    });
    place.appendChild(button);
  });
  document.querySelectorAll('[data-copy]').forEach(function (input) {
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy ' + (document.querySelector('label[for="' + input.id + '"]') || {}).textContent);
    button.addEventListener('click', function () {
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = 'Copied'; });
    });
    input.insertAdjacentElement('afterend', button);
  });
})();

// The Create a key form: posts itself in the background as one of its buttons would and puts
// the parts of the answer in place: the fields when a menu changes (the button that does it is
// hidden), the preview as the user types. Only the answer to the latest post is used.
(function () {
  var form = document.getElementById('create');
  if (!form || !window.fetch || !window.DOMParser) return;
  var latest = 0, timer;
  function post(action, use) {
    var mine = ++latest;
    var data = new URLSearchParams(new FormData(form));
    data.set('action', action);
    fetch(form.getAttribute('action').split('#')[0], { method: 'POST', body: data, credentials: 'same-origin' })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (mine === latest) use(new DOMParser().parseFromString(html, 'text/html'));
      });
  }
  function swap(page, id) {
    var old = document.getElementById(id), fresh = page.getElementById(id);
    if (old && fresh) { old.replaceWith(fresh); } else if (old) { old.remove(); }
  }
  function preview() {
    var sample = document.getElementById('sample');
    if (!sample || !sample.value.trim()) return;
    post('preview', function (page) {
      var fresh = page.getElementById('preview'), old = document.getElementById('preview');
      if (!fresh) return;
      if (old) { old.replaceWith(fresh); } else { document.getElementById('sample').nextElementSibling.after(fresh); }
    });
  }
  var show = form.querySelector('button[value="fields"]');
  if (show) show.hidden = true;
  ['endpoint_type', 'preset'].forEach(function (id) {
    document.getElementById(id).addEventListener('change', function () {
      post('fields', function (page) {
        // The sample may have been typed into while the answer was on its way.
        var sample = document.getElementById('sample'), kept = page.getElementById('sample');
        if (sample && kept) kept.textContent = sample.value;
        swap(page, 'said');
        swap(page, 'template');
        swap(page, 'preview');
        preview();
      });
    });
  });
  form.addEventListener('input', function (e) {
    if (e.target.closest('fieldset')) { clearTimeout(timer); timer = setTimeout(preview, 400); }
  });
})();
