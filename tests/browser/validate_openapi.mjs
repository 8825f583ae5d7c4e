// The OpenAPI test's validator (tests/integration/daemon_openapi_test.cpp runs it): fetches
// the document a live daemon serves and validates it with @apidevtools/swagger-parser
// (OpenAPI 3.1 against its JSON Schema, every $ref resolved), then checks what that validator
// leaves out for 3.1: each operation declares every parameter of its path template.
//
//   node validate_openapi.mjs URL
//
// Exit status 0 = valid, 1 = not valid (the reasons on stderr), 2 = not fetched.
import SwaggerParser from "@apidevtools/swagger-parser";

const url = process.argv[2];
if (!url) {
    console.error("usage: validate_openapi.mjs URL");
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
try {
    // validate() dereferences its argument: give it a copy, keep the $refs for the checks below.
    const api = await SwaggerParser.validate(structuredClone(document));
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

for (const problem of problems) console.error(problem);
process.exit(problems.length === 0 ? 0 : 1);
