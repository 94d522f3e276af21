import { h } from '../element.js';
import { PALETTE, type Identity, rememberOpenIdentity } from './identity.js';

/** Open mode, first visit: "Your name" and a colour, asked once and remembered in this browser. */
export function askIdentity(root: HTMLElement, current?: Identity): Promise<Identity> {
  document.title = 'Welcome — Scriptorium';
  return new Promise((resolve) => {
    const name = h('input', {
      id: 'your-name',
      name: 'name',
      type: 'text',
      autocomplete: 'name',
      required: true,
      maxlength: '60',
      value: current?.name ?? '',
    });
    const initial = current?.color ?? PALETTE[Math.floor(Math.random() * PALETTE.length)]!.value;
    const swatches = PALETTE.map((colour) =>
      h(
        'label',
        { class: 'swatch', style: `--swatch: ${colour.value}` },
        h('input', { type: 'radio', name: 'colour', value: colour.value, checked: colour.value === initial, 'aria-label': colour.name }),
        h('span', { 'aria-hidden': 'true' }),
      ),
    );
    const error = h('p', { class: 'error-text', role: 'alert' });
    const form = h(
      'form',
      { class: 'card sign-in', novalidate: true },
      h('div', { class: 'brand-line' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'), h('span', {}, 'Scriptorium')),
      h('h1', {}, 'Welcome'),
      h('p', { class: 'lede' }, 'Choose how the others will see you while you write together. This is remembered in this browser.'),
      h('div', { class: 'field' }, h('label', { for: 'your-name' }, 'Your name'), name),
      h('fieldset', { class: 'field' }, h('legend', {}, 'Colour'), h('div', { class: 'swatches' }, ...swatches)),
      error,
      h('button', { type: 'submit', class: 'button primary wide' }, 'Continue'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const chosen = name.value.trim();
      if (chosen === '') {
        error.textContent = 'Please enter your name.';
        name.focus();
        return;
      }
      const colour = (form.querySelector('input[name="colour"]:checked') as HTMLInputElement | null)?.value ?? initial;
      resolve(rememberOpenIdentity(chosen, colour));
    });
    root.replaceChildren(h('main', { class: 'centered' }, form));
    name.focus();
  });
}

/** Token mode without a (valid) token: explain how to sign in, and accept a pasted token. */
export function showTokenSignIn(root: HTMLElement, problem: string | null, useToken: (token: string) => void): void {
  document.title = 'Sign in — Scriptorium';
  const input = h('input', { id: 'access-token', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'card sign-in' },
    h('div', { class: 'brand-line' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, 'S'), h('span', {}, 'Scriptorium')),
    h('h1', {}, 'Sign in'),
    problem !== null ? h('p', { class: 'error-text', role: 'alert' }, problem) : null,
    h(
      'p',
      { class: 'lede' },
      'Open the sign-in link you were given (it ends in ?token=…), or paste its token here. It is remembered in this browser.',
    ),
    h('div', { class: 'field' }, h('label', { for: 'access-token' }, 'Access token'), input),
    h('button', { type: 'submit', class: 'button primary wide' }, 'Sign in'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (input.value.trim() !== '') useToken(input.value.trim());
  });
  root.replaceChildren(h('main', { class: 'centered' }, form));
}
