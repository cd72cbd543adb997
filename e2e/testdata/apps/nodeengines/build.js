// Runs as the heroku-postbuild script: records what built the app.
const fs = require("fs");
fs.mkdirSync("dist", { recursive: true });
fs.writeFileSync("dist/built.txt", "built by heroku-postbuild with node " + process.version + "\n");
