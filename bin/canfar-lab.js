#!/usr/bin/env node
'use strict';
require('../dist/node/cli.cjs');
