// Shared by the tests that check no server is left behind.
import { connect } from "node:net";

/** Resolves true when something accepts a connection at the endpoint (http://host:port). */
export function listening(endpoint: string): Promise<boolean> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
