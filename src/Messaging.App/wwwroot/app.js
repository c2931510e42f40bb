// Live views: an element with data-live-src is refreshed from that address (server-rendered HTML) when the device's
// version changed. The lock watch: every page shown while the device was unlocked leaves for the unlock page once it is
// locked. Served by the app itself (CSP script-src 'self'); no inline script anywhere.
(function () {
  'use strict';
  var POLL_MS = 2000;
  var leaving = false;

  // The device is locked (idle time, the lock button in another tab) or the session is gone: the decrypted content
  // leaves the screen at once, and the unlock page decides what comes next (replace: Back does not bring it up again,
  // and the page is not cached).
  function leave() {
    if (leaving) {
      return;
    }

    leaving = true;
    var main = document.getElementById('main');
    if (main) {
      main.textContent = '';
    }
    window.location.replace('/unlock');
  }

  // Asks the app every POLL_MS whether the device is still unlocked (a poll is not use: it does not extend the idle
  // time). When the app cannot be reached for longer than the idle time (it stopped, or was killed), the content goes
  // too: the device would be locked by then.
  function watchLock(url, idleMs) {
    var lastAnswer = Date.now();
    function check() {
      fetch(url, { credentials: 'same-origin', headers: { 'X-Live': '1' }, cache: 'no-store' })
        .then(function (response) {
          if (response.status === 401 || response.status === 403) {
            leave();
          } else {
            lastAnswer = Date.now();
          }
        })
        .catch(function () {
          if (idleMs > 0 && Date.now() - lastAnswer > idleMs) {
            leave();
          }
        })
        .then(function () {
          if (!leaving) {
            window.setTimeout(check, POLL_MS);
          }
        });
    }
    window.setTimeout(check, POLL_MS);
  }

  function poll(element) {
    var version = element.getAttribute('data-version') || '0';
    var url = element.getAttribute('data-live-src') + '&since=' + encodeURIComponent(version);
    fetch(url, { credentials: 'same-origin', headers: { 'X-Live': '1' }, cache: 'no-store' })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          leave();
          return null;
        }
        if (response.status !== 200) {
          return null;
        }
        var next = response.headers.get('X-Live-Version');
        return response.text().then(function (html) {
          element.innerHTML = html;
          if (next) {
            element.setAttribute('data-version', next);
          }
        });
      })
      .catch(function () { /* the app stopped or the network blinked: try again at the next tick */ })
      .then(function () {
        if (!leaving) {
          window.setTimeout(function () { poll(element); }, POLL_MS);
        }
      });
  }

  // Long operations: the button says so and cannot be pressed twice (a double click would send a message, a note or a
  // notice twice). Every such form posts and is answered by a redirect, so the page it sits on goes away.
  function busy(form) {
    form.addEventListener('submit', function (event) {
      var button = form.querySelector('button[data-busy]');
      if (!button) {
        return;
      }

      if (form.getAttribute('aria-busy') === 'true') {
        event.preventDefault();
        return;
      }

      button.setAttribute('aria-disabled', 'true');
      button.setAttribute('data-label', button.textContent);
      button.textContent = button.getAttribute('data-busy');
      form.setAttribute('aria-busy', 'true');
    });
  }

  // Back to a page kept in the browser's cache: its forms can be sent again.
  window.addEventListener('pageshow', function (event) {
    if (event.persisted) {
      document.querySelectorAll('form[aria-busy="true"]').forEach(function (form) {
        var button = form.querySelector('button[data-busy]');
        form.removeAttribute('aria-busy');
        if (button) {
          button.removeAttribute('aria-disabled');
          button.textContent = button.getAttribute('data-label');
        }
      });
    }
  });

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('[data-live-src]').forEach(function (element) {
      window.setTimeout(function () { poll(element); }, POLL_MS);
    });
    document.querySelectorAll('form').forEach(busy);
    var lockCheck = document.body.getAttribute('data-lock-check');
    if (lockCheck) {
      watchLock(lockCheck, parseInt(document.body.getAttribute('data-idle-ms') || '0', 10));
    }
  });
})();
