// The 内容 page's lesson form.
// Audio: the file is sent as soon as it is chosen, as the raw body of one POST
// (XMLHttpRequest: its upload events move the progress bar; the session's CSRF token in a
// header), and the hub answers with a token the lesson form then carries. A form whose
// chosen file did not arrive whole is not sent: nothing is published.
// Draft: what is typed is kept in this browser (localStorage, per branch) until the lesson
// is published, so a long lesson survives an idle sign-out or a closed tab.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("input[type=file][data-upload]");
  if (!input) return;
  const form = input.form;
  keepDraft(form, "lianxin-lesson-draft:" + input.dataset.upload);
  const bar = document.getElementById("lesson-audio-progress");
  const status = document.getElementById("lesson-audio-status");
  const token = form.querySelector("input[name=audio_upload]");
  const wanted = form.querySelector("input[name=audio_wanted]");
  const csrf = form.querySelector("input[name=csrf]").value;
  let busy = false;
  const say = (text, bad) => {
    status.textContent = text;
    status.classList.toggle("field-error", Boolean(bad));
  };
  const mb = n => (n / 1024 / 1024).toFixed(1) + "MB";

  input.addEventListener("change", () => {
    token.value = "";
    bar.hidden = true;
    bar.value = 0;
    const file = input.files[0];
    wanted.value = file ? "1" : "";
    if (!file) { say("", false); return; }
    if (file.size > Number(input.dataset.max)) { say(input.dataset.tooLarge, true); return; }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", input.dataset.upload);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", e => {
      if (!e.lengthComputable) return;
      bar.value = Math.floor(100 * e.loaded / e.total);
      say(`正在上传录音：${bar.value}%`, false);
    });
    xhr.addEventListener("load", () => {
      busy = false;
      let answer = {};
      try { answer = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
      if (xhr.status === 200 && answer.upload) {
        token.value = answer.upload;
        bar.value = 100;
        say(`录音已上传（${answer.kind}，${mb(answer.size)}），发布课程时会一起发出。`, false);
      } else {
        bar.hidden = true;
        say(answer.message || "录音没有上传成功，请再选一次文件。", true);
      }
    });
    xhr.addEventListener("error", () => {
      busy = false;
      bar.hidden = true;
      say("网络断了，录音没有上传，请再选一次文件。", true);
    });
    busy = true;
    bar.hidden = false;
    say("正在上传录音：0%", false);
    xhr.send(file);
  });

  form.addEventListener("submit", e => {
    if (wanted.value && !token.value) {
      e.preventDefault();
      say(busy ? "录音还在上传，请等进度条走完再发布。"
               : "录音没有上传成功：请换一个文件，或者清除所选的文件再发布。", true);
    }
  });
});

function keepDraft(form, key) {
  const kept = [...form.elements].filter(e => e.name && e.type !== "file" && e.type !== "hidden");
  const note = document.getElementById("lesson-draft-note");
  if (new URLSearchParams(location.search).get("done") === "lesson") {
    localStorage.removeItem(key);                       // published: the draft is done
  } else if (!form.dataset.refused) {                   // a refused form shows what was sent
    let saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { /* bad */ }
    if (saved && Object.values(saved).some(v => v && v !== "no")) {
      for (const e of kept) {
        if (!(e.name in saved)) continue;
        if (e.type === "radio") e.checked = saved[e.name] === e.value;
        else e.value = saved[e.name];
      }
      if (kept.some(e => /^q\d/.test(e.name) && e.value)) form.querySelector("details.quiz").open = true;
      note.hidden = false;
    }
  }
  form.addEventListener("input", () => {
    const draft = {};
    for (const e of kept) {
      if (e.type === "radio") { if (e.checked) draft[e.name] = e.value; }
      else draft[e.name] = e.value;
    }
    localStorage.setItem(key, JSON.stringify(draft));
  });
  document.getElementById("lesson-draft-clear").addEventListener("click", () => {
    localStorage.removeItem(key);
    for (const e of kept) {
      if (e.type === "radio") e.checked = e.value === "no";
      else e.value = "";
    }
    note.hidden = true;
  });
}
