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
