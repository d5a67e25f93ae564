// Small DOM helpers. Every piece of text reaches the page through text nodes or attributes set
// with setAttribute; nothing here parses HTML, so model and tool output is never markup.

/**
 * el builds an element: el('button', {class: 'x', type: 'button', onclick: fn}, 'text', child).
 * Attributes starting with "on" become event listeners; `hidden`, `disabled` and `value` are set
 * as properties; null/undefined/false attributes are skipped. Children are nodes or strings.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    setAttr(node, key, value);
  }
  append(node, ...children);
  return node;
}

const PROPS = new Set(['hidden', 'disabled', 'value', 'checked']);

function setAttr(node, key, value) {
  if (value === null || value === undefined || value === false) return;
  if (key.startsWith('on') && typeof value === 'function') {
    node.addEventListener(key.slice(2), value);
  } else if (PROPS.has(key)) {
    node[key] = value;
  } else {
    node.setAttribute(key, value === true ? '' : String(value));
  }
}

/** append adds children (nodes, strings or numbers; null and false are skipped) to node. */
export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** clear removes every child of node. */
export function clear(node) {
  node.replaceChildren();
  return node;
}

/**
 * pretty formats a value for display: JSON text is re-indented, objects are serialised, other
 * strings are returned as they are.
 */
export function pretty(value) {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        return JSON.stringify(JSON.parse(trimmed), null, 2);
      } catch {
        return value;
      }
    }
    return value;
  }
  if (value === undefined) return '';
  return JSON.stringify(value, null, 2);
}

/** shortTime formats an ISO time for lists: the time today, else the date. */
export function shortTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const now = new Date();
  if (d.toDateString() === now.toDateString()) {
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/** randomId returns prefix_ followed by 16 random hex digits. */
export function randomId(prefix) {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return prefix + '_' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
