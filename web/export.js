// Saving a view as an image, for a paper or a slide: every section's
// heading gets "SVG" and "PNG" buttons that download its figure.
//
// The SVG: a figure that is one <svg> (the head view) is saved as that SVG,
// pure vectors any editor opens. Any other figure (tables, cards, several
// maps) is its HTML inside an SVG <foreignObject>, which browsers draw (with
// its own SVGs still vectors) but some editors do not. Both carry the page's
// style sheet, and canvases become PNG <image>s. The PNG is that SVG drawn
// on a canvas at twice the size.
(function () {
  'use strict';
  const X = window.explorer, { el, section } = X.api;
  const SVGNS = 'http://www.w3.org/2000/svg', XHTML = 'http://www.w3.org/1999/xhtml';
  const PNG_SCALE = 2;

  // The page's CSS as text: inline <style> offline, the same-origin sheet when served.
  function pageCss() {
    let css = '';
    for (const sheet of document.styleSheets) {
      try { for (const rule of sheet.cssRules) css += rule.cssText + '\n'; } catch (e) { /* a foreign sheet: the page has none */ }
    }
    return css;
  }

  // A clone of `node` whose canvases are <img>s of their pixels (a canvas
  // clone is blank, and an image of an SVG cannot run scripts to redraw it).
  function cloneWithCanvasImages(node) {
    const copy = node.cloneNode(true);
    const from = node.querySelectorAll('canvas'), to = copy.querySelectorAll('canvas');
    to.forEach((c, i) => {
      const img = document.createElement('img');
      img.src = from[i].toDataURL('image/png');
      img.setAttribute('style', from[i].getAttribute('style') || '');
      img.setAttribute('width', from[i].width); img.setAttribute('height', from[i].height);
      c.replaceWith(img);
    });
    return copy;
  }

  // The figure of section `id` as { text, width, height, name }.
  function viewSvg(id) {
    const s = section(id), figure = s.querySelector('.figure');
    const title = s.querySelector('h2').firstChild.textContent.trim();
    const width = Math.max(1, Math.ceil(figure.scrollWidth)), height = Math.max(1, Math.ceil(figure.scrollHeight));
    const style = document.createElementNS(SVGNS, 'style');
    style.textContent = pageCss();
    const background = document.createElementNS(SVGNS, 'rect');
    background.setAttribute('width', '100%'); background.setAttribute('height', '100%'); background.setAttribute('fill', '#fff');
    const heading = document.createElementNS(SVGNS, 'title');
    heading.textContent = title;
    const only = figure.children.length === 1 && figure.firstElementChild.namespaceURI === SVGNS ? figure.firstElementChild : null;
    let svg;
    if (only) {
      svg = only.cloneNode(true);
      svg.insertBefore(background, svg.firstChild);
    } else {
      svg = document.createElementNS(SVGNS, 'svg');
      svg.setAttribute('width', width); svg.setAttribute('height', height);
      const fo = document.createElementNS(SVGNS, 'foreignObject');
      fo.setAttribute('width', width); fo.setAttribute('height', height);
      const body = document.createElementNS(XHTML, 'div');
      body.setAttribute('class', 'exported');
      body.setAttribute('style', 'width:' + width + 'px; font: 14px/1.45 system-ui, sans-serif; color: #222; background: #fff');
      body.append(cloneWithCanvasImages(figure));
      fo.append(body);
      svg.append(background, fo);
    }
    svg.setAttribute('viewBox', '0 0 ' + (only ? only.getAttribute('width') + ' ' + only.getAttribute('height') : width + ' ' + height));
    svg.insertBefore(style, svg.firstChild);
    svg.insertBefore(heading, svg.firstChild);
    const text = '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(svg);
    const w = Number(svg.getAttribute('width')) || width, h = Number(svg.getAttribute('height')) || height;
    return { text, width: w, height: h, name: fileName(id) };
  }

  function fileName(id) {
    const st = X.state;
    const where = ['head-view', 'self-attention', 'multi-head'].includes(id) ? '-' + st.kind + '-layer' + st.layer : '';
    return 'explorer-' + id + where;
  }

  async function viewPng(id) {
    const { text, width, height, name } = viewSvg(id);
    const img = new Image();
    img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(text);
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * PNG_SCALE); canvas.height = Math.ceil(height * PNG_SCALE);
    const ctx = canvas.getContext('2d');
    ctx.scale(PNG_SCALE, PNG_SCALE);
    ctx.drawImage(img, 0, 0, width, height);
    const blob = await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser made no PNG'))), 'image/png'));
    return { blob, name: name + '.png' };
  }

  function download(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function tools(s) {
    const view = s.querySelector('h2').firstChild.textContent.trim();
    const status = el('span', { class: 'export-status', role: 'status' });
    const fail = (e) => { status.textContent = 'could not save: ' + e.message; };
    return el('span', { class: 'view-tools' },
      el('button', { type: 'button', class: 'export-svg', 'aria-label': 'Save "' + view + '" as SVG', onclick: () => {
        try { const v = viewSvg(s.id); download(new Blob([v.text], { type: 'image/svg+xml' }), v.name + '.svg'); } catch (e) { fail(e); }
      } }, 'SVG'),
      el('button', { type: 'button', class: 'export-png', 'aria-label': 'Save "' + view + '" as PNG', onclick: () => {
        viewPng(s.id).then((v) => download(v.blob, v.name), fail);
      } }, 'PNG'),
      status);
  }

  X.onStart.push(() => {
    for (const s of document.querySelectorAll('main section')) s.querySelector('h2').append(tools(s));
  });
  X.api.viewSvg = viewSvg;
  X.api.viewPng = viewPng;
})();
