let n = 0;
setInterval(() => {
  n += 1;
  console.log(`node worker tick ${n} on ${process.env.DYNO}`);
}, 1000);
