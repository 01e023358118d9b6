#!/usr/bin/env node
// ./run demo: the main job on the built-in example image.
console.error(
  "demo: the copy engine has not landed yet (issue 4); until it does there is no main job to demonstrate.\n" +
    "Run ./run stevedore --help to see the CLI, or ./run test for the tests.",
);
process.exit(1);
