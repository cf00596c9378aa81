import { LabIcon } from '@jupyterlab/ui-components';

/** A stylised constellation: the panel's tab icon. Colours come from the theme's icon classes. */
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="17" r="2.2"/><circle cx="11" cy="7" r="2.2"/><circle cx="19" cy="11" r="2.2"/>
    <circle cx="16" cy="20" r="1.6"/><circle cx="3.5" cy="5" r="1.2"/>
    <path d="M5.9 15.4 10.1 8.6l1.7 1-4.2 6.8zM12.8 7.9l5.4 2.2-.7 1.8-5.4-2.2zM18.3 12.7l-1.6 5.9-1.9-.5 1.6-5.9z"/>
  </g>
</svg>`;

export const canfarIcon = new LabIcon({ name: 'jupyterlab-canfar:canfar', svgstr: svg });
