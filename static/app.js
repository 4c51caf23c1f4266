// Clicking a [n] marker scrolls to source card n of the same answer and flashes it.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("a.aq-cite");
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.dataset.target || link.getAttribute("href").slice(1));
  if (!card) return;
  card.scrollIntoView({ behavior: "smooth", block: "center" });
  card.classList.add("aq-flash");
  setTimeout(() => card.classList.remove("aq-flash"), 1600);
}, true);

// Text to the clipboard; where the Clipboard API is unavailable (a page not served from
// localhost or HTTPS) a hidden textarea and execCommand do it.
function aqCopyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

// What a copy button copies: its card's citation, or "[n] citation" for every card of its
// answer, one per line (the text is in each card's hidden .aq-ref; see qa/cards.py).
function aqCopyTarget(button) {
  if (!button.classList.contains("aq-copy-all")) {
    const ref = button.closest(".aq-card").querySelector(".aq-ref");
    return ref ? ref.textContent : "";
  }
  const cards = button.closest(".aq-sources").querySelectorAll(".aq-card");
  return [...cards].map((card) => {
    const number = card.querySelector(".aq-card-label b").textContent;
    return number + " " + card.querySelector(".aq-ref").textContent;
  }).join("\n");
}

document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("button.aq-copy");
  if (!button) return;
  event.preventDefault();
  event.stopPropagation();
  const label = button.dataset.label || button.textContent;
  button.dataset.label = label;
  aqCopyText(aqCopyTarget(button)).then(
    () => { button.textContent = "已复制"; },
    () => { button.textContent = "复制失败，请手动选取"; },
  ).finally(() => setTimeout(() => { button.textContent = label; }, 1600));
}, true);
