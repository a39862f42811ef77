// Stands in for @aws-sdk/credential-provider-node in the Lambda bundles (see stacks/bundle.ts).
// Lambda always hands a function its role's credentials in environment variables, so the
// default chain's other sources (SSO, ini files, IMDS, web identity) are dead weight there:
// dropping them saves about 90 KB of bundle and its load time. Local runs are not bundled.
import { fromEnv } from "@aws-sdk/credential-provider-env";

export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
