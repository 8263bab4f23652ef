// Links that reopen what is on screen: the same sentence (and beam), view,
// attention, layer and head. Every section's heading gets a "Link" button
// that puts the link in the address bar and shows it, as a URL fragment:
//
//   #s=SENTENCE&beam=N&view=SECTION&kind=encoder|decoder|cross&layer=L&head=H[&step=S]
//
// (step: the "watch it learn" slider's training step, in that view's links)
//
// Opened on the served page, the sentence is translated again and the view
// restored; on an offline page (one sentence) the view is restored.
(function () {
  'use strict';
  const X = window.explorer, { el, KINDS, attention, layerCount, openHead, section, showError } = X.api;
  let pending = null;   // the link's view state, applied when its record is drawn

  function link(view) {
    const rec = X.record, st = X.state, p = new URLSearchParams();
    p.set('s', rec.source.text);
    p.set('beam', String(rec.beam && rec.beam.size ? rec.beam.size : 1));
    p.set('view', view);
    p.set('kind', st.kind);
    p.set('layer', String(st.layer));
    if (st.heads.size === 1) p.set('head', String([...st.heads][0]));
    if (view === 'learning' && X.api.learningStep() !== null) p.set('step', String(X.api.learningStep()));
    return location.href.split('#')[0] + '#' + p.toString();
  }

  // A whole number from the link, or an Error naming the field.
  function wholeNumber(p, name, lo, hi) {
    const v = p.get(name);
    if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi)
      throw new Error('the link\'s "' + name + '=' + v + '" is not one of ' + lo + ' … ' + hi + ' for this model');
    return Number(v);
  }

  function apply(p) {
    const view = p.get('view');
    if (p.has('kind') || p.has('layer') || p.has('head')) {
      const kind = p.get('kind') || 'encoder';
      if (!KINDS[kind]) throw new Error('the link\'s "kind=' + kind + '" is not one of ' + Object.keys(KINDS).join(', '));
      const layer = p.has('layer') ? wholeNumber(p, 'layer', 0, layerCount(kind) - 1) : 0;
      const head = p.has('head') ? wholeNumber(p, 'head', 0, attention(kind, layer).heads - 1) : null;
      openHead(kind, layer, head);
    }
    if (p.has('step')) {
      const step = p.get('step');
      if (!/^\d+$/.test(step)) throw new Error('the link\'s "step=' + step + '" is not a training step');
      X.api.showLearningStep(Number(step));
    }
    if (view) {
      const s = section(view);
      if (!s || s.tagName !== 'SECTION') throw new Error('the link\'s "view=' + view + '" is not a view of this page');
      s.scrollIntoView({ block: 'start' });
    }
  }

  X.views.push({
    draw() {
      if (!pending) return;
      const p = pending;
      pending = null;
      try { apply(p); } catch (e) { showError('Cannot open this link: ' + e.message); }
    },
  });

  X.onStart.push(({ served }) => {
    for (const s of document.querySelectorAll('main section')) {
      const shown = el('input', { class: 'permalink', type: 'text', readonly: true, hidden: true, 'aria-label': 'link to this view', size: 40 });
      s.querySelector('.view-tools').append(
        el('button', { type: 'button', class: 'link-button', 'aria-label': 'Link to this view, with this sentence, layer and head', onclick: () => {
          if (!X.record) return;
          const url = link(s.id);
          history.replaceState(null, '', url);
          shown.value = url; shown.hidden = false; shown.select();
          if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});   // the field stays for copying by hand
        } }, 'Link'), shown);
    }
    const p = new URLSearchParams(location.hash.slice(1));
    if (![...p.keys()].length) return;
    if (!served) {   // the page's one sentence: restore the view at once
      try { apply(p); } catch (e) { showError('Cannot open this link: ' + e.message); }
      return;
    }
    if (!p.get('s')) return;
    pending = p;
    document.getElementById('sentence').value = p.get('s');
    if (/^\d+$/.test(p.get('beam') || '')) document.getElementById('beam').value = p.get('beam');
    document.getElementById('translate-form').requestSubmit();
  });
})();
