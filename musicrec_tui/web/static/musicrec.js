// musicrec's part of the page: the app's audio commands play in this tab, and files it delivers download here.
// textual.js opens one WebSocket to the app; we see its messages first and keep two kinds to ourselves:
//   ["musicrec_audio", {action: play|pause|resume|stop|seek|volume, url, position, volume}]
//   ["deliver_file_start", key]  -> an <a download> click (window.open would need a fresh user gesture)
(function () {
  "use strict";
  const NativeWebSocket = window.WebSocket;
  window.musicrec = { audioLog: [], downloads: [] };

  function audioElement() {
    return document.getElementById("musicrec-audio");
  }

  function onAudio(command) {
    const audio = audioElement();
    window.musicrec.audioLog.push(command);
    if (!audio) return;
    switch (command.action) {
      case "play":
        audio.src = new URL(command.url, window.location.href).href;
        if (typeof command.volume === "number") audio.volume = command.volume;
        audio.currentTime = 0;
        audio.play().catch(function (err) { console.log("musicrec: cannot play yet:", err.name); });
        break;
      case "pause":
        audio.pause();
        break;
      case "resume":
        audio.play().catch(function () {});
        break;
      case "stop":
        audio.pause();
        audio.currentTime = 0;
        break;
      case "seek":
        audio.currentTime = command.position || 0;
        break;
      case "volume":
        audio.volume = Math.max(0, Math.min(1, command.volume));
        break;
    }
  }

  function onDelivery(key) {
    const link = document.createElement("a");
    link.href = "/download/" + encodeURIComponent(key);
    link.download = "";
    link.rel = "noopener";
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.musicrec.downloads.push(key);
  }

  function ours(event) {
    if (typeof event.data !== "string") return false;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch (e) {
      return false;
    }
    if (!Array.isArray(message)) return false;
    if (message[0] === "musicrec_audio") {
      onAudio(message[1]);
      return true;
    }
    if (message[0] === "deliver_file_start") {
      onDelivery(message[1]);
      return true;
    }
    return false;
  }

  class MusicrecWebSocket extends NativeWebSocket {
    addEventListener(type, listener, options) {
      if (type === "message" && typeof listener === "function") {
        const inner = listener;
        listener = function (event) {
          if (!ours(event)) inner.call(this, event);
        };
      }
      super.addEventListener(type, listener, options);
    }
  }
  window.WebSocket = MusicrecWebSocket;
})();
