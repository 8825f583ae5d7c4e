// The OpenAPI test's validator (tests/integration/daemon_openapi_test.cpp runs it): fetches
// the document a live daemon serves and validates it with @apidevtools/swagger-parser
// (OpenAPI 3.1 against its JSON Schema, every $ref resolved), then checks what that validator
// leaves out for 3.1: each operation declares every parameter of its path template. With
// --key, it also GETs every JSON route of the document (path parameters filled from
// --parameters) and validates each answer against the schema the document gives its status,
// with Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect).
//
//   node validate_openapi.mjs URL [--key KEY --parameters '{"symbol": "AAPL", …}']
//
// Exit status 0 = valid, 1 = not valid (the reasons on stderr), 2 = not fetched.
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv2020 from "ajv/dist/2020.js";

import { parseArgs } from "node:util";

const { values: options, positionals } = parseArgs({
    allowPositionals: true,
    options: {
        key: { type: "string" },
        parameters: { type: "string", default: "{}" },
    },
});
const url = positionals[0];
if (!url) {
    console.error("usage: validate_openapi.mjs URL [--key KEY --parameters JSON]");
    process.exit(64);
}

let document;
try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(10000) });
    if (answer.status !== 200) throw new Error(`GET ${url}: ${answer.status}`);
    document = await answer.json();
} catch (error) {
    console.error(`not fetched: ${error.message}`);
    process.exit(2);
}

const problems = [];
let api = null;  // the document with every $ref replaced by what it points to
try {
    // validate() dereferences its argument: give it a copy, keep the $refs for the checks below.
    api = await SwaggerParser.validate(structuredClone(document));
    console.log(`swagger-parser: valid OpenAPI ${api.openapi}, ${api.info.title} ${api.info.version}, ` +
                `${Object.keys(api.paths).length} paths`);
} catch (error) {
    problems.push(`swagger-parser: ${error.message}`);
}

const kMethods = ["get", "put", "post", "delete", "patch", "head", "options"];
for (const [path, item] of Object.entries(document.paths ?? {})) {
    const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
    for (const method of kMethods.filter((m) => item[m])) {
        const declared = [...(item.parameters ?? []), ...(item[method].parameters ?? [])]
            .filter((p) => p.in === "path").map((p) => p.name).sort();
        if (inPath.join() !== declared.join())
            problems.push(`${method.toUpperCase()} ${path}: path parameters [${declared}], the path has [${inPath}]`);
    }
}

// What the daemon answers, against the schemas.
async function checkAnswers() {
    const parameters = JSON.parse(options.parameters);
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const base = new URL(url);
    let checked = 0;
    for (const [path, item] of Object.entries(api.paths)) {
        const operation = item.get;
        if (!operation || operation.parameters?.some((p) => p.in === "query" && p.name === "access_token"))
            continue;  // not a GET, or a stream
        const target = path.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(parameters[name] ?? ""));
        const answer = await fetch(new URL(target, base), {
            headers: { Authorization: `Bearer ${options.key}` }, signal: AbortSignal.timeout(10000),
        });
        const response = operation.responses[String(answer.status)];
        if (!response) {
            problems.push(`GET ${target}: ${answer.status} is not documented`);
            continue;
        }
        const schema = response.content?.["application/json"]?.schema;
        const type = answer.headers.get("content-type") ?? "";
        if (!schema || !type.startsWith("application/json")) continue;
        const validate = ajv.compile(schema);
        if (!validate(await answer.json())) {
            problems.push(`GET ${target} (${answer.status}): ${ajv.errorsText(validate.errors)}`);
        }
        checked += 1;
    }
    console.log(`answers: ${checked} JSON answers checked against their schemas`);
    if (checked === 0) problems.push("no answer checked");
}
if (options.key && api) await checkAnswers();

for (const problem of problems) console.error(problem);
process.exit(problems.length === 0 ? 0 : 1);
