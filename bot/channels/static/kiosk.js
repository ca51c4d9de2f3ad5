// Kiosk chat widget: talks to the Rasa kiosk channel (POST ./webhook) and draws replies.
// Shared screen: after `idle` seconds without a touch (default 120, `?idle=N` to change) or on
// "Bắt đầu lại", the screen is cleared and a new conversation id is used.
"use strict";

(function () {
  const params = new URLSearchParams(window.location.search);
  const idleParam = Number.parseInt(params.get("idle") || "", 10);
  const IDLE_SECONDS = Number.isFinite(idleParam) && idleParam >= 2 ? Math.min(idleParam, 3600) : 120;
  const NOTICE_SECONDS = Math.min(15, Math.floor(IDLE_SECONDS / 3));
  const base = window.location.pathname.endsWith("/") ? window.location.pathname : window.location.pathname + "/";
  const ENDPOINT = base + "webhook";

  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("message-input");
  const sendButton = document.getElementById("send-button");
  const status = document.getElementById("status");
  const idleNotice = document.getElementById("idle-notice");
  const welcome = document.getElementById("welcome-template");

  let sender = newSender();
  let busy = false;
  let idleTimer = null;
  let noticeTimer = null;
  let started = false; // the citizen has done something since the last reset

  // crypto.getRandomValues works on plain http too (a ward LAN), unlike crypto.randomUUID.
  function newSender() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function addBubble(kind, text) {
    const bubble = document.createElement("div");
    bubble.className = "msg " + kind;
    const p = document.createElement("p");
    p.className = "text";
    p.textContent = text;
    bubble.appendChild(p);
    log.appendChild(bubble);
    scrollDown();
    return bubble;
  }

  function disableOldButtons() {
    log.querySelectorAll(".buttons button").forEach((b) => { b.disabled = true; });
  }

  function addButtons(bubble, buttons) {
    const box = document.createElement("div");
    box.className = "buttons";
    buttons.forEach((b) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = b.title;
      button.dataset.payload = b.payload;
      box.appendChild(button);
    });
    bubble.appendChild(box);
  }

  function addQr(bubble, qr) {
    const phone = qr.kind === "phone";
    const figure = document.createElement("figure");
    figure.className = "qr";
    const img = document.createElement("img");
    img.src = qr.svg;
    img.alt = phone ? "Mã QR để tiếp tục trên điện thoại" : "Mã QR chứa danh sách giấy tờ cần chuẩn bị";
    const caption = document.createElement("figcaption");
    caption.textContent = phone
      ? "Quét mã QR bằng điện thoại để tiếp tục trên Telegram."
      : "Quét mã QR bằng điện thoại để lưu danh sách giấy tờ.";
    figure.appendChild(img);
    figure.appendChild(caption);
    bubble.appendChild(figure);
  }

  function showReplies(replies) {
    if (!Array.isArray(replies) || replies.length === 0) {
      addBubble("bot", "Dạ, tôi chưa có câu trả lời. Anh/chị vui lòng hỏi lại theo cách khác ạ.");
      return;
    }
    replies.forEach((reply) => {
      const bubble = addBubble("bot", reply.text || "");
      if (Array.isArray(reply.buttons) && reply.buttons.length) addButtons(bubble, reply.buttons);
      if (reply.qr && typeof reply.qr.svg === "string" && reply.qr.svg.startsWith("data:image/svg+xml")) {
        addQr(bubble, reply.qr);
      }
      if (typeof reply.reset_after === "number") watchHandoff(reply.reset_after);
    });
    scrollDown();
  }

  async function send(payload, shownText) {
    if (busy || !payload) return;
    busy = true;
    started = true;
    sendButton.disabled = true;
    disableOldButtons();
    addBubble("user", shownText || payload);
    const typing = addBubble("bot typing", "Đang tìm câu trả lời…");
    const conversation = sender;
    try {
      const answer = await fetch(ENDPOINT, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: conversation, message: payload }),
      });
      if (!answer.ok) throw new Error("HTTP " + answer.status);
      const replies = await answer.json();
      if (conversation !== sender) return; // the screen was reset meanwhile: drop the old answer
      typing.remove();
      if (answer.headers.get("X-Officer-Holds") === "1") return; // an officer answers (watchOfficer)
      showReplies(replies);
    } catch (error) {
      if (conversation !== sender) return;
      typing.remove();
      addBubble("bot error", "Xin lỗi, hệ thống đang bận. Anh/chị vui lòng thử lại sau ít phút ạ.");
    } finally {
      busy = false;
      sendButton.disabled = false;
      restartIdleTimer();
    }
  }

  // Continue on a phone (issue 15): reset once the phone took over, or after `seconds` anyway.
  function watchHandoff(seconds) {
    const conversation = sender;
    const until = Date.now() + seconds * 1000;
    const poll = async () => {
      if (conversation !== sender) return;
      if (Date.now() >= until) { reset("Màn hình đã được làm mới cho lượt mới."); return; }
      try {
        const answer = await fetch(base + "handoff?sender=" + encodeURIComponent(conversation), { cache: "no-store" });
        if (answer.ok && (await answer.json()).taken === true && conversation === sender) {
          reset("Đã chuyển sang điện thoại. Màn hình bắt đầu lại cho người tiếp theo.");
          return;
        }
      } catch (error) { /* keep polling until the deadline */ }
      setTimeout(poll, 3000);
    };
    setTimeout(poll, 3000);
  }

  // Staff console (issue 17): an officer's messages to this conversation, fetched every few seconds.
  async function watchOfficer() {
    const conversation = sender;
    if (started) {
      try {
        const answer = await fetch(base + "officer?sender=" + encodeURIComponent(conversation), { cache: "no-store" });
        if (answer.ok && conversation === sender) {
          const data = await answer.json();
          (data.messages || []).forEach((text) => addBubble("bot officer", "Cán bộ: " + text));
          if ((data.messages || []).length) restartIdleTimer();
        }
      } catch (error) { /* try again at the next tick */ }
    }
    setTimeout(watchOfficer, 4000);
  }
  setTimeout(watchOfficer, 4000);

  function reset(reason) {
    sender = newSender();
    busy = false;
    started = false;
    sendButton.disabled = false;
    input.value = "";
    log.replaceChildren();
    log.appendChild(welcome.content.cloneNode(true));
    idleNotice.hidden = true;
    status.textContent = reason;
    document.body.dataset.session = sender;
    scrollDown();
    restartIdleTimer();
  }

  function restartIdleTimer() {
    clearTimeout(idleTimer);
    clearTimeout(noticeTimer);
    idleNotice.hidden = true;
    if (!started) return; // an untouched welcome screen needs no reset
    if (NOTICE_SECONDS >= 2) {
      noticeTimer = setTimeout(() => { idleNotice.hidden = false; }, (IDLE_SECONDS - NOTICE_SECONDS) * 1000);
    }
    idleTimer = setTimeout(() => {
      if (busy) { restartIdleTimer(); return; } // never wipe the screen while an answer is on its way
      reset("Màn hình đã được làm mới cho lượt mới.");
    }, IDLE_SECONDS * 1000);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });

  log.addEventListener("click", (event) => {
    const button = event.target.closest(".buttons button");
    if (!button || button.disabled) return;
    send(button.dataset.payload, button.textContent);
  });

  document.getElementById("phone-button").addEventListener("click", () => {
    send("/continue_on_phone", "Tiếp tục trên điện thoại");
  });

  document.getElementById("restart-button").addEventListener("click", () => {
    reset("Đã bắt đầu lại cuộc trò chuyện mới.");
  });

  ["pointerdown", "keydown", "input"].forEach((name) => {
    document.addEventListener(name, () => {
      if (started) restartIdleTimer();
    }, { passive: true });
  });

  document.body.dataset.idleSeconds = String(IDLE_SECONDS);
  reset("");
})();
