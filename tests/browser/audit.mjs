// What is checked on every page and every form state: axe-core at WCAG 2.1 AA, then the
// machine-checkable items of the government-site checklist in ../shared/docs/domain.md
// (lang, titles, zoom, headings, text size, visible labels, stated formats, tap targets,
// visible focus), then a full-page screenshot.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_VERSION = require('axe-core/package.json').version;
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// Smallest text the checklist allows ("body text at least 16 px").
export const MIN_FONT_PX = 16;
// Tap targets at phone width: 44 px high, as site.css promises for everything that stands on
// its own (WCAG 2.5.5's size); 24 px wide at least (WCAG 2.2's 2.5.8). Links inside a sentence
// are exempt, as in WCAG.
export const MIN_TARGET_HEIGHT = 44;
export const MIN_TARGET_WIDTH = 24;

/** Runs axe-core in the page; returns [violations, incomplete]. */
export async function runAxe(page) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(
    (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations', 'incomplete'] }),
    AXE_TAGS,
  );
  const brief = (list) =>
    list.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: (n.failureSummary || '').split('\n').slice(0, 3).join(' ') })),
    }));
  return [brief(result.violations), brief(result.incomplete)];
}

/**
 * The checklist's static checks, computed inside the page. `phone` adds the tap-target check.
 * Returns a list of problems (strings) and a few facts (title, lang).
 */
export async function pageFacts(page, { phone }) {
  return page.evaluate(
    ({ phone, minFont, minHeight, minWidth }) => {
      const problems = [];
      let svgTexts = 0;
      const describe = (el) => {
        if (!el) return '?';
        let text = el.tagName.toLowerCase();
        if (el.id) text += '#' + el.id;
        else if (el.className && typeof el.className === 'string') text += '.' + el.className.trim().split(/\s+/).join('.');
        const words = (el.textContent || el.value || '').trim().replace(/\s+/g, ' ').slice(0, 24);
        return words ? `${text}「${words}」` : text;
      };
      const isVisuallyHidden = (el) => {
        for (let e = el; e && e !== document.body; e = e.parentElement) {
          if (e.classList.contains('visually-hidden') || e.classList.contains('form__honeypot')) return true;
          if (e.getAttribute('aria-hidden') === 'true' || e.hidden) return true;
        }
        return false;
      };
      const shown = (el) => {
        if (isVisuallyHidden(el)) return false;
        const cs = getComputedStyle(el);
        if (cs.visibility === 'hidden' || cs.display === 'none') return false;
        const r = el.getBoundingClientRect();
        return r.width > 1 && r.height > 1;
      };

      // lang and title
      const lang = document.documentElement.getAttribute('lang') || '';
      if (lang !== 'zh-CN') problems.push(`<html lang> is "${lang}", not "zh-CN"`);
      const title = document.title.trim();
      if (!title) problems.push('empty <title>');

      // zoom: nothing stops pinch zoom, and no sideways scrolling of the page itself
      const meta = document.querySelector('meta[name="viewport"]');
      const viewport = meta ? meta.getAttribute('content') || '' : '';
      if (!meta) problems.push('no <meta name="viewport">');
      if (/maximum-scale|user-scalable\s*=\s*(no|0)/i.test(viewport)) problems.push(`viewport meta blocks zoom: ${viewport}`);
      const overflow = document.documentElement.scrollWidth - document.documentElement.clientWidth;
      if (overflow > 1) problems.push(`page scrolls sideways by ${overflow}px at ${innerWidth}px wide`);

      // headings: one h1, levels never skip on the way down
      const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter((h) => !isVisuallyHidden(h));
      const h1s = headings.filter((h) => h.tagName === 'H1');
      if (h1s.length !== 1) problems.push(`${h1s.length} <h1> elements (want exactly 1)`);
      let last = 0;
      for (const h of headings) {
        const level = +h.tagName[1];
        if (last && level > last + 1) problems.push(`heading level skips from h${last} to h${level}: ${describe(h)}`);
        last = level;
      }

      // skip link first, pointing at <main>
      const skip = document.querySelector('a.skip-link');
      if (!skip || skip.getAttribute('href') !== '#main' || !document.getElementById('main')) problems.push('no skip link to #main');

      // text size: every visible text at least minFont px (SVG text as rendered)
      const small = new Map();
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim()) continue;
        const el = node.parentElement;
        if (!el || el.closest('script, style, noscript, option, title, desc') || !shown(el)) continue;
        let size = parseFloat(getComputedStyle(el).fontSize);
        const svg = el.closest('svg');
        if (svg && svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
          size = size * (svg.getBoundingClientRect().width / svg.viewBox.baseVal.width);
        }
        if (size + 0.05 < minFont) {
          const key = `${describe(el)} ${size.toFixed(1)}px`;
          small.set(key, (small.get(key) || 0) + 1);
        }
      }
      for (const key of [...small.keys()].slice(0, 8)) problems.push(`text smaller than ${minFont}px: ${key}`);

      // every form control has a label a sighted person can see; required and formats in text
      const controls = [...document.querySelectorAll('input, select, textarea')].filter(
        (c) => c.type !== 'hidden' && c.type !== 'submit' && c.type !== 'button' && !isVisuallyHidden(c),
      );
      for (const c of controls) {
        const labels = [...(c.labels || [])].filter(shown);
        if (!labels.length) problems.push(`control without a visible label: ${describe(c)}`);
        if (c.dataset.required === 'true') {
          const field = c.closest('.field');
          const heading = field && field.querySelector('.field__label');
          if (!heading || !/必填/.test(heading.textContent)) problems.push(`required control whose label does not say 必填: ${describe(c)}`);
        }
        const needsFormat = ['date', 'id_number', 'credit_code', 'unit_code', 'org_code', 'mobile', 'landline', 'phone', 'postcode', 'division_code', 'money_yuan'];
        if (needsFormat.includes(c.dataset.kind)) {
          const ids = (c.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
          const hint = ids.map((id) => document.getElementById(id)).find((e) => e && e.classList.contains('field__hint') && shown(e) && e.textContent.trim());
          if (!hint) problems.push(`no format stated beside ${describe(c)} (${c.dataset.kind})`);
        }
      }

      // SVG text (the flowcharts): axe cannot tell what is behind it, so compare its fill with
      // the fill of the shape it sits on (the last shape of its group under its middle).
      const rgb = (c) => (c.match(/[\d.]+/g) || [255, 255, 255]).slice(0, 3).map(Number);
      const luminance = ([r, g, b]) => {
        const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const contrast = (a, b) => {
        const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m);
        return (x + 0.05) / (y + 0.05);
      };
      for (const text of document.querySelectorAll('svg text')) {
        if (!shown(text)) continue;
        const box = text.getBBox();
        const mx = box.x + box.width / 2;
        const my = box.y + box.height / 2;
        const group = text.parentElement;
        const shapes = [...group.querySelectorAll('rect, circle')].filter((shape) => {
          const b = shape.getBBox();
          return mx >= b.x && mx <= b.x + b.width && my >= b.y && my <= b.y + b.height;
        });
        const under = shapes.length ? getComputedStyle(shapes[shapes.length - 1]).fill : 'rgb(255, 255, 255)';
        const ratio = contrast(rgb(getComputedStyle(text).fill), rgb(under));
        if (ratio < 4.5) problems.push(`SVG text contrast ${ratio.toFixed(2)}:1 (want 4.5:1): ${describe(text)}`);
        svgTexts++;
      }

      // a video needs its words in text on the page
      if (document.querySelector('video, audio') && !/文字/.test(document.body.textContent)) problems.push('video or audio without a text transcript');

      // tap targets at phone width
      if (phone) {
        const targets = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex="0"]')].filter(
          (el) => el.type !== 'hidden' && !el.classList.contains('skip-link') && shown(el),
        );
        const inSentence = (el) => {
          const cs = getComputedStyle(el);
          if (cs.display !== 'inline') return false;
          const block = el.parentElement.closest('p, li, dd, td, th, figcaption, div, span');
          if (!block) return false;
          const own = (el.textContent || '').trim();
          const all = block.textContent.replace(/\s+/g, '').length;
          return all > own.replace(/\s+/g, '').length;
        };
        for (const el of targets) {
          if (el.tagName === 'A' && inSentence(el)) continue;
          let rect = el.getBoundingClientRect();
          if (el.type === 'radio' || el.type === 'checkbox') {
            // The label is part of the target: the whole row can be tapped.
            const label = el.labels && el.labels[0];
            if (label) {
              const l = label.getBoundingClientRect();
              rect = { width: Math.max(rect.right, l.right) - Math.min(rect.left, l.left), height: Math.max(rect.bottom, l.bottom) - Math.min(rect.top, l.top) };
            }
          }
          if (rect.height + 0.5 < minHeight || rect.width + 0.5 < minWidth) {
            problems.push(`tap target ${Math.round(rect.width)}×${Math.round(rect.height)}px (want ≥${minWidth}×${minHeight}): ${describe(el)}`);
          }
        }
      }
      return { problems, title, lang, svgTexts };
    },
    { phone, minFont: MIN_FONT_PX, minHeight: MIN_TARGET_HEIGHT, minWidth: MIN_TARGET_WIDTH },
  );
}

/**
 * Walks the page with Tab until the focus comes round again; every element reached must show
 * where the focus is (an outline of at least 2px, or a box shadow) and be on screen. With
 * `fromTop`, the first Tab must reach the skip link. Returns [problems, count of stops].
 */
export async function focusWalk(page, { fromTop, maxTabs = 400 }) {
  const problems = [];
  const seen = new Set();
  let stops = 0;
  let nulls = 0;
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el || el === document.body || el === document.documentElement) return null;
      const path = [];
      for (let e = el; e && e.parentElement; e = e.parentElement) {
        path.unshift(e.tagName + ':' + [...e.parentElement.children].indexOf(e));
      }
      const cs = getComputedStyle(el);
      const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2;
      const shadow = cs.boxShadow && cs.boxShadow !== 'none';
      const r = el.getBoundingClientRect();
      const onScreen = r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
      const words = (el.textContent || el.value || el.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 24);
      return { key: path.join('/'), tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, words, visible: outline || shadow, onScreen };
    });
    if (!f) {
      // Past the end of the page the focus leaves the document for a step, then comes round.
      if (++nulls > 2) break;
      continue;
    }
    nulls = 0;
    if (seen.has(f.key)) break;
    seen.add(f.key);
    stops++;
    const name = `${f.tag}${f.id ? '#' + f.id : ''}「${f.words}」`;
    if (fromTop && stops === 1 && !/skip-link/.test(f.cls)) problems.push(`first Tab reaches ${name}, not the skip link`);
    if (!f.visible) problems.push(`focus not visible on ${name}`);
    if (!f.onScreen) problems.push(`focused element off screen: ${name}`);
  }
  return [problems, stops];
}
