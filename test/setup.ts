// Loaded by mocha before every test file (see .mocharc.json).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
process.env.AWS_REGION ??= "us-east-1";
// No test may reach AWS: fake credentials, and every real endpoint is overridden per test.
process.env.AWS_ACCESS_KEY_ID ??= "test";
process.env.AWS_SECRET_ACCESS_KEY ??= "test";
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
