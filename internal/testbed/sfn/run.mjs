// Runs a Step Functions state machine with aws-local-stepfunctions, a real Amazon States
// Language interpreter. Read from stdin: {machines: {arn: definition}, start: arn, input,
// name, lambdas: {functionArn: invocationURL}}. Every Task whose Resource is a Lambda ARN
// is sent to that function's Runtime Interface Emulator; a function error becomes an Error
// whose name is the errorType (so Retry and Catch match on it) and whose message is the
// error's JSON, as Step Functions passes it on as Cause. A Task of
// arn:aws:states:::states:startExecution runs the named machine the same way. Retry waits
// and Wait states take no time. Writes {status, output, error, cause, events} to stdout.

// aws-local-stepfunctions asks for Node >= 22; on Node 20 the one API it lacks is this.
if (!Promise.withResolvers) {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((a, b) => { resolve = a; reject = b; });
    return { promise, resolve, reject };
  };
}

const { StateMachine } = await import(process.env.SHIPSHAPE_SFN_LOCAL_PATH + '/aws-local-stepfunctions/build/main.node.esm.js');

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));

let executions = 0;

// tasks lists every Task, Wait and retrying state of a definition, nested ones included.
function states(def, out = { tasks: {}, waits: [], retries: [] }) {
  for (const [name, st] of Object.entries(def.States || {})) {
    if (st.Type === 'Task') out.tasks[name] = st.Resource;
    if (st.Type === 'Wait') out.waits.push(name);
    if (st.Retry) out.retries.push(name);
    if (st.ItemProcessor) states(st.ItemProcessor, out);
    if (st.Iterator) states(st.Iterator, out);
    for (const b of st.Branches || []) states(b, out);
  }
  return out;
}

// The Runtime Interface Emulator runs one invocation at a time (Lambda would start more
// instances): invocations of one function wait for each other.
const queues = new Map();
function invokeLambda(url, input) {
  const prev = queues.get(url) || Promise.resolve();
  const next = prev.catch(() => {}).then(() => invokeOnce(url, input));
  queues.set(url, next);
  return next;
}

async function invokeOnce(url, input) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(input) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  if (res.status !== 200 || (body && typeof body === 'object' && typeof body.errorType === 'string' && 'errorMessage' in body)) {
    const err = new Error(typeof body === 'string' ? body : JSON.stringify(body));
    err.name = (body && body.errorType) || 'Lambda.Unknown';
    throw err;
  }
  return body;
}

async function execute(arn, input, name, log) {
  const def = job.machines[arn];
  if (!def) throw Object.assign(new Error(`no state machine ${arn}`), { name: 'StepFunctions.StateMachineDoesNotExistException' });
  const found = states(def);
  const handlers = {};
  for (const [state, resource] of Object.entries(found.tasks)) {
    if (job.lambdas[resource]) {
      handlers[state] = (taskInput) => invokeLambda(job.lambdas[resource], taskInput);
    } else if (resource === 'arn:aws:states:::states:startExecution') {
      handlers[state] = async (taskInput) => {
        const child = `${name}-child-${++executions}`;
        const sub = await execute(taskInput.StateMachineArn, taskInput.Input, child, log);
        log.push({ execution: child, type: 'ChildExecution', status: sub.status });
        return { ExecutionArn: `${taskInput.StateMachineArn.replace(':stateMachine:', ':execution:')}:${child}`, StartDate: new Date().toISOString() };
      };
    }
  }
  const zero = (names) => Object.fromEntries(names.map((n) => [n, 0]));
  const machine = new StateMachine(def, { validationOptions: { checkArn: false, checkPaths: true } });
  const smName = arn.split(':').pop();
  const run = machine.run(input, {
    overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: zero(found.waits), retryIntervalOverrides: zero(found.retries) },
    context: {
      Execution: {
        Id: `${arn.replace(':stateMachine:', ':execution:')}:${name}`, Name: name, Input: input,
        StartTime: new Date().toISOString(), RoleArn: 'arn:aws:iam::123456789012:role/testbed-states',
      },
      StateMachine: { Id: arn, Name: smName },
    },
  });
  const events = [];
  const collect = (async () => { for await (const ev of run.eventLogs) events.push(ev); })();
  let result;
  try {
    const output = await run.result;
    result = { status: 'SUCCEEDED', output };
  } catch (e) {
    result = { status: 'FAILED', error: e.name, cause: e.cause !== undefined ? String(e.cause) : e.message };
  }
  await collect;
  log.push(...events.map((ev) => ({ execution: name, ...ev })));
  return result;
}

const log = [];
const result = await execute(job.start, job.input, job.name, log);
process.stdout.write(JSON.stringify({ ...result, events: log }));
