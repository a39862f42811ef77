// asl-validator ships no type definitions.
declare module "asl-validator" {
  interface AslValidatorError {
    "Error code": string;
    Message: string;
  }
  export default function aslValidator(definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }): { isValid: boolean; errors: AslValidatorError[] };
}
