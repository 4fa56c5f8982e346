// Sends one group call with Segment's Node SDK (@segment/analytics-node) to HOST with KEY as
// its write key, and waits until it was delivered (retrying a failed delivery as it does).
const { Analytics } = require('@segment/analytics-node');

const analytics = new Analytics({
  writeKey: process.env.KEY,
  host: process.env.HOST,
  maxEventsInBatch: 1,
  flushInterval: 50,
  maxRetries: 5,
});
analytics.on('error', (e) => console.error('delivery error', e));
analytics.group({
  userId: 'user_node',
  groupId: process.env.GROUP,
  traits: { name: 'Node Co', plan: 'pro', employees: 12, mrr: 499 },
});
analytics.closeAndFlush({ timeout: 20000 }).then(() => console.log('flushed'));
