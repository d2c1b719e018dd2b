// Filling the online forms from their definitions (GET /api/forms/{id}), with the mouse or
// touch (Playwright's fill/select/check) or with the keyboard only (Tab, arrows, Space, Enter
// and typing).

/** Every field of a form with its control id and HTML name; rows of groups at index 0. */
export function fieldsOf(def, row = 0) {
  const out = [];
  for (const set of def.fieldsets || []) {
    for (const f of set.fields) out.push({ ...f, name: f.key, id: `f-${f.key}` });
  }
  for (const g of def.groups || []) {
    for (const f of g.fields) out.push({ ...f, name: `${g.key}[${row}].${f.key}`, id: `f-${g.key}-${row}-${f.key}`, group: g.key });
  }
  return out;
}

/** The valid example values of the definition, by HTML name, overridden by `changes`. */
export function exampleValues(def, changes = {}) {
  const values = {};
  for (const f of fieldsOf(def)) {
    if (f.example !== null && f.example !== undefined && f.example !== '') values[f.name] = f.example;
  }
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete values[name];
    else values[name] = value;
  }
  return values;
}

/** Fills the form on the page with `values` (by HTML name), as a mouse or touch user does. */
export async function fillForm(page, def, values) {
  for (const f of fieldsOf(def)) {
    const value = values[f.name];
    if (f.type === 'radio' || f.type === 'checkboxes') {
      const wanted = value === undefined ? [] : Array.isArray(value) ? value : [value];
      for (const [n, option] of f.options.entries()) {
        const box = page.locator(`#${f.id}-${n}`);
        if (wanted.includes(option)) await box.check();
        else if (f.type === 'checkboxes') await box.uncheck();
      }
    } else if (f.type === 'select') {
      await page.selectOption(`#${f.id}`, value === undefined ? '' : value);
    } else {
      await page.fill(`#${f.id}`, value === undefined ? '' : String(value));
    }
  }
}

/** The values the form on the page holds, by HTML name (what a person sees in the boxes). */
export async function formValues(page) {
  return page.evaluate(() => {
    const out = {};
    const form = document.querySelector('form[data-form]');
    for (const el of form.elements) {
      if (!el.name || el.name.startsWith('_') || el.name === 'website' || el.type === 'submit') continue;
      if (el.type === 'radio' || el.type === 'checkbox') {
        if (el.checked) out[el.name] = el.value;
      } else if (el.value !== '') {
        out[el.name] = el.value;
      }
    }
    return out;
  });
}

// --- keyboard only -------------------------------------------------------------------------

/** The id, tag and text of the focused element. */
export async function focused(page) {
  return page.evaluate(() => {
    const el = document.activeElement;
    return {
      id: el ? el.id : '',
      tag: el ? el.tagName.toLowerCase() : '',
      href: el && el.getAttribute ? el.getAttribute('href') || '' : '',
      text: el ? (el.textContent || '').trim().replace(/\s+/g, ' ') : '',
      cls: el && typeof el.className === 'string' ? el.className : '',
      value: el && 'value' in el ? el.value : '',
    };
  });
}

/**
 * Presses Tab (or Shift+Tab) until the focused element satisfies `wanted`, like a keyboard
 * user moving through the page; fails after `max` presses. Returns the number of presses.
 */
export async function tabTo(page, wanted, { back = false, max = 200, what = '' } = {}) {
  for (let n = 1; n <= max; n++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (wanted(f)) return n;
  }
  throw new Error(`keyboard: ${max} presses of ${back ? 'Shift+Tab' : 'Tab'} never reached ${what || wanted.toString()}`);
}

export const byId = (id) => Object.assign((f) => f.id === id, { toString: () => `#${id}` });
export const byHref = (href) => Object.assign((f) => f.tag === 'a' && f.href === href, { toString: () => `link ${href}` });
export const byText = (tag, re) => Object.assign((f) => f.tag === tag && re.test(f.text), { toString: () => `${tag} ${re}` });

/**
 * The order of a date box's parts in this browser (its locale decides: 月/日/年 or 年/月/日),
 * found by typing into a scratch box the way a person reads the parts on screen.
 */
export async function dateOrder(context) {
  const page = await context.newPage();
  try {
    for (const order of ['mdy', 'dmy', 'ymd']) {
      await page.setContent('<label for="d">日期</label><input type="date" id="d">');
      await page.keyboard.press('Tab');
      await typeDateParts(page, '2005-03-04', order);
      if ((await page.inputValue('#d')) === '2005-03-04') return order;
    }
    throw new Error('keyboard: could not type a date into a date box in any order');
  } finally {
    await page.close();
  }
}

async function typeDateParts(page, iso, order) {
  const [y, m, d] = iso.split('-');
  const part = { y, m, d };
  for (const [i, key] of [...order].entries()) {
    await page.keyboard.type(part[key]);
    // A year can have more than four digits, so the box does not move on by itself.
    if (key === 'y' && i < 2) await page.keyboard.press('ArrowRight');
  }
}

/** Types `value` into the focused control as a keyboard user would, by the field's type. */
export async function typeInto(page, field, value, order) {
  if (field.type === 'select') {
    // Arrow keys move through a closed list one option at a time.
    const options = await page.evaluate(() => [...document.activeElement.options].map((o) => o.value));
    const target = options.indexOf(value);
    if (target < 0) throw new Error(`keyboard: no option ${value} in ${field.id}`);
    let current = await page.evaluate(() => document.activeElement.selectedIndex);
    while (current !== target) {
      await page.keyboard.press(current < target ? 'ArrowDown' : 'ArrowUp');
      current = await page.evaluate(() => document.activeElement.selectedIndex);
    }
  } else if (field.type === 'date') {
    await typeDateParts(page, value, order);
  } else {
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(String(value));
  }
}

/**
 * Fills the whole form with the keyboard: Tab from the top of the form to each control in
 * turn and type. Radio groups: Tab reaches the group, Space ticks the first choice, arrows
 * move to the wanted one.
 */
export async function keyboardFill(page, def, values, order) {
  for (const f of fieldsOf(def)) {
    const value = values[f.name];
    if (value === undefined) continue;
    if (f.type === 'radio') {
      await tabTo(page, (x) => x.id.startsWith(`${f.id}-`), { what: f.id });
      const target = f.options.indexOf(value);
      await page.keyboard.press('Space');
      for (let n = 0; n < target; n++) await page.keyboard.press('ArrowDown');
      continue;
    }
    if (f.type === 'checkboxes') throw new Error('keyboard fill of check boxes is not written yet');
    const here = await focused(page);
    if (here.id !== f.id) {
      // Forwards if the control is later in the page, otherwise back.
      const later = await page.evaluate(
        ([a, b]) => {
          const x = document.getElementById(a);
          const y = document.getElementById(b);
          return !x || !!(x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING);
        },
        [here.id, f.id],
      );
      await tabTo(page, byId(f.id), { back: !later });
    }
    await typeInto(page, f, value, order);
  }
}
