// Injected by scripts/bench_app.py and the browser tests: times in the page
// (performance.now) from the click on 发送 to the first source card the model reads, to the
// first written character (text besides the "正在生成回答…" line, the cards and a queue
// notice) and to the checked answer, recorded by a MutationObserver in window.aqTimes.
window.aqTimes = {};
document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("#aq-send")) {
    window.aqTimes = { sent: performance.now() };
  }
}, true);
function aqWriting() {
  return [...document.querySelectorAll(".aq-answer.aq-pending")].some((answer) => {
    const copy = answer.cloneNode(true);
    copy.querySelectorAll(".aq-reading, .aq-generating, .aq-queued").forEach((e) => e.remove());
    return copy.textContent.replace("▌", "").trim().length > 0;
  });
}
new MutationObserver(() => {
  const times = window.aqTimes;
  if (!times.sent) return;
  const now = performance.now() - times.sent;
  const done = document.querySelector(".aq-answer:not(.aq-pending)");
  if (times.cards === undefined && document.querySelector(".aq-reading .aq-card")) {
    times.cards = now;
    times.writingWithCards = aqWriting();
    times.generatingLine = document.querySelector(".aq-pending .aq-generating") !== null;
  }
  if (times.token === undefined && (aqWriting() || done)) times.token = now;
  if (times.answer === undefined && done) times.answer = now;
}).observe(document, { subtree: true, childList: true, characterData: true });
