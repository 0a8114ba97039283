// Camera scanning at the scan station, where the browser has the
// BarcodeDetector API: the camera starts only on a click and stops as soon
// as a QR code is read (or on "stop"); the code is then submitted like a
// keyboard-wedge scanner would (through scan-queue.js when it runs). Without
// this script the page works the same.
(function () {
  'use strict';
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return;
  var start = document.getElementById('scan-camera');
  var stop = document.getElementById('scan-stop');
  var video = document.getElementById('scan-video');
  var status = document.getElementById('scan-camera-status');
  var field = document.getElementById('f-code');
  if (!start || !stop || !video || !field) return;
  var stream = null, timer = 0, detector;
  try {
    detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  } catch (e) {
    return;
  }
  function halt() {
    clearTimeout(timer);
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    video.hidden = true;
    stop.hidden = true;
    start.hidden = false;
  }
  function tick() {
    if (!stream) return;
    detector.detect(video).then(function (codes) {
      if (!stream) return;
      if (codes.length && codes[0].rawValue) {
        field.value = codes[0].rawValue;
        halt();
        if (field.form.requestSubmit) field.form.requestSubmit(); else field.form.submit(); // the queue sends it
        return;
      }
      timer = setTimeout(tick, 200);
    }, function () { timer = setTimeout(tick, 500); });
  }
  start.hidden = false;
  start.addEventListener('click', function () {
    status.textContent = '';
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      stop.hidden = false;
      start.hidden = true;
      stop.focus();
      return video.play();
    }).then(tick, function () {
      halt();
      status.textContent = status.getAttribute('data-error');
    });
  });
  stop.addEventListener('click', function () { halt(); field.focus(); });
  window.addEventListener('pagehide', halt);
})();
