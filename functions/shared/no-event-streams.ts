// Stands in for @smithy/core/event-streams in the Lambda bundles (see stacks/bundle.ts). The handlers call no
// operation that streams events (S3 SelectObjectContent and the like), but every S3 client resolves an event-stream
// marshaller when it is built, which pulls the whole codec (about 14 KB) into the bundle. Kept: that resolver, with a
// marshaller that fails naming the cause if an event-stream operation is ever called. Local runs are not bundled.
const unsupported = (): never => {
  throw new Error("event-stream operations are not bundled with this function (functions/shared/no-event-streams.ts)");
};

export const resolveEventStreamSerdeConfig = <T extends { eventStreamSerdeProvider: (input: T) => unknown }>(input: T) =>
  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });

export const eventStreamSerdeProvider = () => ({ serialize: unsupported, deserialize: unsupported });

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}
