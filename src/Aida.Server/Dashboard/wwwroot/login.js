// The login page: exchanges an API key for a session cookie, then opens the dashboard.

import * as api from './api.js';

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const key = document.getElementById('key').value.trim();
  try {
    await api.login(key);
    location.replace('/#overview');
  } catch (e) {
    error.textContent = e.status === 401 ? 'That key is not valid (or has been revoked).' : e.message;
  }
});
