// Sends one group call with RudderStack's Node SDK (@rudderstack/rudder-sdk-node; gzip on, as
// by default) to HOST with KEY as its write key, and waits until it was delivered.
const Analytics = require('@rudderstack/rudder-sdk-node');

const client = new Analytics(process.env.KEY, {
  dataPlaneUrl: process.env.HOST,
  flushAt: 1,
  flushInterval: 50,
  retryCount: 5,
  logLevel: 'error',
});
client.group({
  userId: 'user_rudder',
  groupId: process.env.GROUP,
  traits: { name: 'Rudder Co', plan: 'team', employees: 7, mrr: 99 },
});
client.flush((err) => {
  if (err) {
    console.error('delivery error', err);
    process.exit(1);
  }
  console.log('flushed');
});
