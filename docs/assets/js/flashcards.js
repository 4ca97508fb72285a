// Flashcards for the self-test page. The page itself (generated from the topic pages' interview
// questions) lists every question as a collapsible <details>; this script turns that list into a
// deck: one card at a time, reveal, mark known / not yet, shuffle, practise only unknown cards.
// Progress is stored in localStorage under one key and never leaves the browser.
(function () {
  "use strict";
  var STORAGE_KEY = "dlkb-flashcards-v1";

  function load() {
    try { return JSON.parse(localStorage.getItem(STORAGE_KEY)) || {}; } catch (e) { return {}; }
  }
  function save(progress) {
    try { localStorage.setItem(STORAGE_KEY, JSON.stringify(progress)); } catch (e) { /* private mode */ }
  }
  function shuffled(items) {
    var a = items.slice();
    for (var i = a.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var t = a[i]; a[i] = a[j]; a[j] = t;
    }
    return a;
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }

  function setup() {
    var root = document.getElementById("flashcards");
    if (!root || root.dataset.ready) return;
    root.dataset.ready = "1";
    var labels = JSON.parse(root.dataset.labels);
    var cards = Array.prototype.map.call(document.querySelectorAll(".flashcard[data-card]"), function (card) {
      var details = card.querySelector("details");
      var answer = details.cloneNode(true);
      answer.removeChild(answer.querySelector("summary"));
      return {
        id: card.dataset.card,
        topic: card.dataset.topic,
        question: details.querySelector("summary").textContent,
        answer: answer.innerHTML
      };
    });
    var progress = load();
    var state = { deck: cards.slice(), index: 0, onlyUnknown: false };

    var bar = el("div", { "class": "flashcards__bar" });
    var status = el("span", { "class": "flashcards__progress", "aria-live": "polite" });
    var shuffle = el("button", { "class": "md-button", type: "button" }, labels.shuffle);
    var filterLabel = el("label", { "class": "flashcards__filter" });
    var filter = el("input", { type: "checkbox" });
    filterLabel.appendChild(filter);
    filterLabel.appendChild(document.createTextNode(" " + labels.only_unknown));
    var reset = el("button", { "class": "md-button", type: "button" }, labels.reset);
    [status, shuffle, filterLabel, reset].forEach(function (n) { bar.appendChild(n); });

    var card = el("div", { "class": "flashcards__card" });
    var position = el("p", { "class": "flashcards__position" });
    var topic = el("p", { "class": "flashcards__topic" });
    var question = el("p", { "class": "flashcards__question" });
    var answer = el("div", { "class": "flashcards__answer", hidden: "" });
    var actions = el("div", { "class": "flashcards__actions" });
    var reveal = el("button", { "class": "md-button md-button--primary", type: "button" }, labels.show);
    var known = el("button", { "class": "md-button", type: "button", "data-mark": "known" }, labels.known);
    var unknown = el("button", { "class": "md-button", type: "button", "data-mark": "unknown" }, labels.unknown);
    [reveal, known, unknown].forEach(function (n) { actions.appendChild(n); });
    [position, topic, question, answer, actions].forEach(function (n) { card.appendChild(n); });
    root.appendChild(bar);
    root.appendChild(card);

    function visibleDeck() {
      return state.onlyUnknown ? state.deck.filter(function (c) { return progress[c.id] !== "known"; }) : state.deck;
    }
    function render() {
      var deck = visibleDeck();
      var knownCount = cards.filter(function (c) { return progress[c.id] === "known"; }).length;
      status.textContent = format(labels.progress, { known: knownCount, total: cards.length });
      if (!deck.length) {
        position.textContent = ""; topic.textContent = ""; question.textContent = labels.done;
        answer.hidden = true; actions.hidden = true;
        return;
      }
      actions.hidden = false;
      state.index = state.index % deck.length;
      var current = deck[state.index];
      position.textContent = format(labels.card, { i: state.index + 1, n: deck.length });
      topic.textContent = current.topic;
      question.textContent = current.question;
      answer.innerHTML = current.answer;
      answer.hidden = true;
      reveal.textContent = labels.show;
      card.dataset.card = current.id;
      card.dataset.mark = progress[current.id] || "";
    }
    reveal.addEventListener("click", function () {
      answer.hidden = !answer.hidden;
      reveal.textContent = answer.hidden ? labels.show : labels.hide;
    });
    [known, unknown].forEach(function (button) {
      button.addEventListener("click", function () {
        var deck = visibleDeck();
        progress[deck[state.index].id] = button.dataset.mark;
        save(progress);
        // In "only unknown" mode a card marked known leaves the deck, so the index stays put.
        if (!(state.onlyUnknown && button.dataset.mark === "known")) state.index += 1;
        render();
      });
    });
    shuffle.addEventListener("click", function () { state.deck = shuffled(state.deck); state.index = 0; render(); });
    filter.addEventListener("change", function () { state.onlyUnknown = filter.checked; state.index = 0; render(); });
    reset.addEventListener("click", function () { progress = {}; save(progress); state.index = 0; render(); });
    render();
  }

  // Material's instant navigation swaps pages without a reload: run on every page it shows.
  if (window.document$ && window.document$.subscribe) {
    window.document$.subscribe(setup);
  } else {
    document.addEventListener("DOMContentLoaded", setup);
  }
})();
