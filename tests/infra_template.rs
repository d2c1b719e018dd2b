//! The deployment template (`infra/template.yaml`) agrees with the code.
//!
//! - The HTTP API routes exactly `api::ROUTES`, each to the function that `api::FUNCTIONS`
//!   gives it, and only the staff routes (`/api/staff/…`) ask for a token.
//! - Every function's environment names the template's table in `BEIAN_TABLE`, and the
//!   table has the keys, index and TTL that `DynamoStore::create_table` gives it.
//! - Each role allows exactly the DynamoDB actions its function calls. These are recorded,
//!   not listed: every Lambda binary (the real `bootstrap`, built for this test) is started
//!   against a stand-in for the Lambda Runtime API that hands it API Gateway events for each
//!   of its routes, and its DynamoDB requests go through a proxy on 127.0.0.1 that notes
//!   each one's `X-Amz-Target` on the way to moto.
//!
//! Nothing here lists routes, functions or actions: a new route or function in `api.rs`, or
//! a new DynamoDB call, makes this test fail until the template has it.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use beian_functions::api::{self, ApiRequest, App, Settings, FUNCTIONS, ROUTES};
use beian_functions::forms::{FormDef, Forms};
use beian_functions::store::dynamo::{client_from_env, DynamoStore};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Map, Value};

// ------------------------------------------------------------------ the template

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The template as JSON values (it uses long-form intrinsics, so plain YAML reads it).
fn template() -> Value {
    let text = std::fs::read_to_string(repo().join("infra/template.yaml")).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&text).expect("infra/template.yaml is YAML");
    to_json(&docs[0])
}

fn to_json(yaml: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match yaml {
        Yaml::Hash(hash) => Value::Object(
            hash.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        other => panic!("unexpected key {other:?}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Yaml::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Yaml::String(s) | Yaml::Real(s) => json!(s),
        Yaml::Integer(i) => json!(i),
        Yaml::Boolean(b) => json!(b),
        Yaml::Null => Value::Null,
        other => panic!("unexpected YAML {other:?}"),
    }
}

fn resources(template: &Value) -> &Map<String, Value> {
    template["Resources"].as_object().expect("Resources")
}

fn of_type<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    resources(template)
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

/// The one resource of a type.
fn only<'a>(template: &'a Value, kind: &str) -> (&'a str, &'a Value) {
    let all = of_type(template, kind);
    assert_eq!(
        all.len(),
        1,
        "the template has one {kind}, not {}",
        all.len()
    );
    all[0]
}

/// The resource name in `{"Ref": name}`.
fn ref_to(value: &Value) -> Option<&str> {
    value.get("Ref")?.as_str()
}

/// The resource and attribute in `{"Fn::GetAtt": [name, attribute]}`.
fn get_att(value: &Value) -> Option<(&str, &str)> {
    match value.get("Fn::GetAtt")? {
        Value::Array(parts) => Some((parts.first()?.as_str()?, parts.get(1)?.as_str()?)),
        Value::String(dotted) => dotted.split_once('.'),
        _ => None,
    }
}

/// The Lambda functions in the template by the binary they run (`CodeUri: build/<binary>/`,
/// where `infra/package.sh` puts each binary's `bootstrap`).
fn template_functions(template: &Value) -> BTreeMap<String, (&str, &Value)> {
    of_type(template, "AWS::Serverless::Function")
        .into_iter()
        .map(|(name, resource)| {
            let code = resource["Properties"]["CodeUri"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: CodeUri is a folder under infra/build"));
            let binary = code
                .trim_end_matches('/')
                .strip_prefix("build/")
                .unwrap_or_else(|| panic!("{name}: CodeUri `{code}` is not build/<binary>/"));
            (binary.to_string(), (name, resource))
        })
        .collect()
}

/// A route as `METHOD /path/{param}`.
fn route_key(method: &str, path: &str) -> String {
    format!("{} {path}", method.to_ascii_uppercase())
}

/// Staff routes are the ones under `/api/staff/`: the handlers take the agency and handler
/// from the token's claims there, so API Gateway must check a token first.
fn is_staff(path: &str) -> bool {
    path.starts_with("/api/staff/")
}

/// The function that `api::FUNCTIONS` gives a route.
fn function_of(method: &str, path: &str) -> &'static str {
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let name = api::route_name(&method, path);
    FUNCTIONS
        .iter()
        .find(|(_, routes)| routes.contains(&name))
        .map(|(function, _)| *function)
        .unwrap_or_else(|| panic!("no function in api::FUNCTIONS serves `{name}` ({path})"))
}

#[test]
fn the_api_routes_exactly_the_handlers_routes_to_their_functions() {
    let t = template();

    // Every route name in FUNCTIONS is a route in ROUTES, so the two lists agree.
    let named: BTreeSet<&str> = ROUTES
        .iter()
        .map(|(m, p)| api::route_name(&Method::from_bytes(m.as_bytes()).unwrap(), p))
        .collect();
    for (function, routes) in FUNCTIONS {
        for route in *routes {
            assert!(
                named.contains(route),
                "api::FUNCTIONS gives `{function}` the route `{route}`, which no entry of ROUTES has"
            );
        }
    }

    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (route_key(m, p), function_of(m, p).to_string()))
        .collect();

    let (api_name, http_api) = only(&t, "AWS::Serverless::HttpApi");
    for key in ["DefinitionBody", "DefinitionUri"] {
        assert!(
            http_api["Properties"].get(key).is_none(),
            "the HTTP API's routes come only from the functions' events, not from {key}"
        );
    }
    for kind in [
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::Integration",
        "AWS::Serverless::Api",
        "AWS::ApiGateway::RestApi",
    ] {
        assert!(
            of_type(&t, kind).is_empty(),
            "{kind}: routes are declared only as HttpApi events of the functions"
        );
    }
    let auth = &http_api["Properties"]["Auth"];
    assert!(
        auth.get("DefaultAuthorizer").is_none(),
        "no default authorizer: the public routes take no token"
    );

    let mut actual = BTreeSet::new();
    for (binary, (name, function)) in template_functions(&t) {
        let events = function["Properties"]["Events"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (event_name, event) in events {
            assert_eq!(
                event["Type"], "HttpApi",
                "{name}.{event_name}: only HTTP API events"
            );
            let properties = &event["Properties"];
            assert_eq!(
                ref_to(&properties["ApiId"]),
                Some(api_name),
                "{name}.{event_name}: on the one HTTP API"
            );
            let method = properties["Method"].as_str().expect("Method");
            let path = properties["Path"].as_str().expect("Path");
            let authorizer = properties["Auth"]["Authorizer"].as_str();
            if is_staff(path) {
                let authorizer = authorizer.unwrap_or_else(|| {
                    panic!("{method} {path}: a staff route needs the JWT authorizer")
                });
                let config = &auth["Authorizers"][authorizer];
                assert_eq!(
                    config["IdentitySource"], "$request.header.Authorization",
                    "{authorizer}: the token comes in the Authorization header"
                );
                let jwt = &config["JwtConfiguration"];
                assert!(
                    !jwt["issuer"].is_null() && !jwt["audience"].is_null(),
                    "{authorizer}: a JWT authorizer with an issuer and an audience"
                );
            } else {
                assert!(
                    authorizer.is_none_or(|a| a == "NONE"),
                    "{method} {path}: a public route takes no token"
                );
            }
            actual.insert((route_key(method, path), binary.clone()));
        }
    }

    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the template's API and api::ROUTES/FUNCTIONS differ:\n  served by the handlers but not \
         routed (or routed to another function): {missing:?}\n  routed but not served so: {extra:?}"
    );

    let binaries: BTreeSet<&str> = FUNCTIONS.iter().map(|(f, _)| *f).collect();
    let deployed: BTreeSet<String> = template_functions(&t).into_keys().collect();
    let deployed: BTreeSet<&str> = deployed.iter().map(String::as_str).collect();
    assert_eq!(
        deployed, binaries,
        "the template deploys exactly the functions of api::FUNCTIONS"
    );
}

#[test]
fn each_function_names_the_table_in_its_environment() {
    let t = template();
    let (table, _) = only(&t, "AWS::DynamoDB::Table");
    for (binary, (name, function)) in template_functions(&t) {
        let variables = &function["Properties"]["Environment"]["Variables"];
        assert_eq!(
            ref_to(&variables["BEIAN_TABLE"]),
            Some(table),
            "{name} ({binary}): BEIAN_TABLE is the table `{table}` (DynamoStore::from_env reads it)"
        );
    }
}

// ------------------------------------------------------------------ against moto

fn moto() -> String {
    std::env::var("BEIAN_DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "BEIAN_DYNAMODB_ENDPOINT is not set: this test runs the functions against moto; \
             run `bash tests/run.sh`, which starts moto on 127.0.0.1 and sets it"
        )
    })
}

fn unique_table() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("infra-{}-{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_has_the_keys_index_and_ttl_the_store_uses() {
    moto();
    let t = template();
    let (_, table) = only(&t, "AWS::DynamoDB::Table");
    let p = &table["Properties"];

    let client = client_from_env().await;
    let name = unique_table();
    DynamoStore::new(client.clone(), name.clone())
        .create_table()
        .await
        .expect("the store creates its table on moto");
    let described = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();

    let keys = |elements: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, String)> {
        elements
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect()
    };
    let template_keys = |schema: &Value| -> Vec<(String, String)> {
        schema
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap().to_string(),
                    k["KeyType"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        template_keys(&p["KeySchema"]),
        keys(described.key_schema()),
        "table keys"
    );

    let attributes: BTreeSet<(String, String)> = described
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_string(),
                a.attribute_type().as_str().to_string(),
            )
        })
        .collect();
    let template_attributes: BTreeSet<(String, String)> = p["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().unwrap().to_string(),
                a["AttributeType"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(template_attributes, attributes, "attribute definitions");

    let indexes: BTreeMap<String, (Vec<(String, String)>, String)> = described
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap().to_string(),
                (
                    keys(i.key_schema()),
                    i.projection()
                        .and_then(|p| p.projection_type())
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                ),
            )
        })
        .collect();
    let template_indexes: BTreeMap<String, (Vec<(String, String)>, String)> = p
        ["GlobalSecondaryIndexes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| {
            (
                i["IndexName"].as_str().unwrap().to_string(),
                (
                    template_keys(&i["KeySchema"]),
                    i["Projection"]["ProjectionType"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(template_indexes, indexes, "global secondary indexes");

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .and_then(|d| d.attribute_name)
        .expect("the store turns TTL on");
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"], ttl,
        "TTL attribute"
    );
    assert_eq!(p["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        p["BillingMode"], "PAY_PER_REQUEST",
        "on-demand, as the store creates it"
    );

    let _ = client.delete_table().table_name(&name).send().await;
}

/// One DynamoDB request as the proxy saw it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Call {
    /// The IAM action it needs (a transaction needs one per kind of item in it).
    action: String,
    /// The table it names.
    table: String,
    /// The index it names, if any.
    index: Option<String>,
}

/// The IAM actions of one request: its operation's own, except for transactions, which IAM
/// authorizes item by item (`Put` → `PutItem`, `ConditionCheck` → `ConditionCheckItem`…).
fn calls_of(operation: &str, body: &Value) -> Vec<Call> {
    let index = body["IndexName"].as_str().map(str::to_string);
    let single = |table: &str| Call {
        action: format!("dynamodb:{operation}"),
        table: table.to_string(),
        index: index.clone(),
    };
    match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|item| item.as_object().cloned().unwrap_or_default())
            .map(|(kind, part)| Call {
                action: format!(
                    "dynamodb:{}",
                    match kind.as_str() {
                        "ConditionCheck" => "ConditionCheckItem".to_string(),
                        other => format!("{other}Item"),
                    }
                ),
                table: part["TableName"].as_str().unwrap_or_default().to_string(),
                index: None,
            })
            .collect(),
        "BatchWriteItem" | "BatchGetItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|tables| tables.keys())
            .map(|table| single(table))
            .collect(),
        _ => vec![single(body["TableName"].as_str().unwrap_or_default())],
    }
}

/// A proxy on 127.0.0.1 in front of moto that notes every DynamoDB request's calls.
fn recording_proxy(upstream: &str) -> (String, Arc<Mutex<Vec<Call>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let recorded = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let upstream = upstream.clone();
            let calls = calls.clone();
            std::thread::spawn(move || proxy_connection(stream, &upstream, &calls));
        }
    });
    (address, recorded)
}

/// Reads one HTTP/1.1 message head and its Content-Length body.
fn read_message(reader: &mut impl BufRead) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push(line.trim_end().to_string());
    }
    let length = head
        .iter()
        .find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().find_map(|h| {
        let (n, v) = h.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Passes requests to moto one connection each (`Connection: close` both ways), noting
/// each request's calls first.
fn proxy_connection(stream: TcpStream, upstream: &str, calls: &Mutex<Vec<Call>>) {
    let mut client = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let Some((head, body)) = read_message(&mut reader) else {
        return;
    };
    if let Some(target) = header(&head, "x-amz-target") {
        let operation = target.rsplit('.').next().unwrap_or(target);
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        calls.lock().unwrap().extend(calls_of(operation, &parsed));
    }
    let mut forward = Vec::new();
    forward.extend_from_slice(head[0].as_bytes());
    forward.extend_from_slice(b"\r\n");
    for line in &head[1..] {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" && name != "host" {
            forward.extend_from_slice(line.as_bytes());
            forward.extend_from_slice(b"\r\n");
        }
    }
    forward.extend_from_slice(format!("Host: {upstream}\r\nConnection: close\r\n\r\n").as_bytes());
    forward.extend_from_slice(&body);
    let Ok(mut moto) = TcpStream::connect(upstream) else {
        return;
    };
    if moto.write_all(&forward).is_err() {
        return;
    }
    let mut moto_reader = BufReader::new(moto);
    let Some((response_head, response_body)) = read_message(&mut moto_reader) else {
        return;
    };
    let mut back = Vec::new();
    for line in &response_head {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" {
            back.extend_from_slice(line.as_bytes());
            back.extend_from_slice(b"\r\n");
        }
    }
    back.extend_from_slice(b"Connection: close\r\n\r\n");
    back.extend_from_slice(&response_body);
    let _ = client.write_all(&back);
}

/// An API Gateway request to hand a function.
struct Invocation {
    /// `METHOD /pattern`, as API Gateway's routeKey.
    route_key: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
    /// The claims the JWT authorizer would pass on.
    claims: Option<Value>,
}

/// The event API Gateway sends for `invocation`: AWS's documented HTTP API (v2) example in
/// `tests/events/http-api-v2.json`, with this request's route, method, path and body.
fn event(invocation: &Invocation, request_id: &str) -> String {
    let path = repo().join("tests/events/http-api-v2.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["routeKey"] = json!(invocation.route_key);
    event["rawPath"] = json!(invocation.path);
    event["requestContext"]["routeKey"] = json!(invocation.route_key);
    event["requestContext"]["http"]["method"] = json!(invocation.method);
    event["requestContext"]["http"]["path"] = json!(invocation.path);
    event["requestContext"]["requestId"] = json!(request_id);
    event["pathParameters"] = json!({});
    let headers = event["headers"].as_object_mut().unwrap();
    headers.insert(
        "content-length".into(),
        json!(invocation.body.len().to_string()),
    );
    for (name, value) in &invocation.headers {
        headers.insert(name.clone(), json!(value));
    }
    event["body"] = json!(invocation.body);
    if let Some(claims) = &invocation.claims {
        event["requestContext"]["authorizer"] =
            json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    event.to_string()
}

/// What the runtime stand-in heard back for one invocation.
#[derive(Debug)]
struct Answer {
    request_id: String,
    status: u16,
    raw: String,
}

/// A stand-in for the Lambda Runtime API that hands out `events` in turn and reports each
/// response (or error) on the channel.
fn runtime_api(events: Vec<(String, String)>) -> (String, mpsc::Receiver<Answer>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let queue = Arc::new(Mutex::new(VecDeque::from(events)));
    let (done, answers) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let queue = queue.clone();
            let done = done.clone();
            std::thread::spawn(move || runtime_connection(stream, &queue, &done));
        }
    });
    (address, answers)
}

fn runtime_connection(
    stream: TcpStream,
    queue: &Mutex<VecDeque<(String, String)>>,
    done: &mpsc::Sender<Answer>,
) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some((head, body)) = read_message(&mut reader) {
        let request_line = &head[0];
        if request_line.contains("/invocation/next") {
            let next = queue.lock().unwrap().pop_front();
            let Some((request_id, event)) = next else {
                // Nothing more to hand out: the function waits here until it is stopped.
                std::thread::sleep(Duration::from_secs(600));
                return;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let _ = write!(
                writer,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {request_id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws-cn:lambda:cn-north-1:123456789012:function:test\r\n\
                 Content-Length: {}\r\n\r\n{event}",
                event.len()
            );
        } else {
            let _ = write!(writer, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
            let raw = String::from_utf8_lossy(&body).into_owned();
            let request_id = request_line
                .split('/')
                .skip_while(|part| *part != "invocation")
                .nth(1)
                .unwrap_or("init")
                .to_string();
            let status = if request_line.contains("/response") {
                serde_json::from_str::<Value>(&raw)
                    .ok()
                    .and_then(|v| v["statusCode"].as_u64())
                    .unwrap_or(0) as u16
            } else {
                0 // an error report: not an answer
            };
            let _ = done.send(Answer {
                request_id,
                status,
                raw,
            });
        }
    }
}

/// Where cargo put the package's binaries for this test (beside the test's own folder).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "no binary `{}`: cargo builds the package's binaries for its integration tests",
        path.display()
    );
    path
}

/// Every field's example, one row per group, as a browser posts the form; `changed` leaves
/// out the first optional field that has an example, so the content differs and stays valid.
fn example_body(def: &FormDef, changed: bool) -> String {
    let left_out = changed
        .then(|| def.fields().find(|f| !f.required && f.example.is_some()))
        .flatten()
        .map(|f| f.key.clone());
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    for field in def.fields() {
        if let Some(example) = &field.example {
            if Some(&field.key) != left_out.as_ref() {
                pairs.append_pair(&field.key, example);
            }
        }
    }
    for group in &def.groups {
        for field in &group.fields {
            if let Some(example) = &field.example {
                pairs.append_pair(&format!("{}[0].{}", group.key, field.key), example);
            }
        }
    }
    pairs.finish()
}

/// The multipart boundary of the upload invocations.
const UPLOAD_BOUNDARY: &str = "----infraTemplateUpload";

/// An upload of `def`'s first group as a CSV of one row of examples, with the unit's fields;
/// `None` for a form without rows.
fn upload_body(def: &FormDef) -> Option<String> {
    let group = def.groups.first()?;
    let mut body = String::new();
    for field in def.fields() {
        if let Some(example) = &field.example {
            body.push_str(&format!(
                "--{UPLOAD_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{example}\r\n",
                field.key
            ));
        }
    }
    let header: Vec<&str> = group.fields.iter().map(|f| f.label.as_str()).collect();
    let row: Vec<&str> = group
        .fields
        .iter()
        .map(|f| f.example.as_deref().unwrap_or(""))
        .collect();
    body.push_str(&format!(
        "--{UPLOAD_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"staff.csv\"\r\n\r\n{}\r\n{}\r\n\r\n--{UPLOAD_BOUNDARY}--\r\n",
        header.join(","),
        row.join(",")
    ));
    Some(body)
}

/// The requests that exercise a route: each form (and an unknown one) for `{id}`, a stored,
/// an unknown and a malformed reference for `{reference}`; posts are sent as JSON clients
/// send them, new, repeated with the same idempotency key, and with that key on other
/// content; the staff route with the claims the JWT authorizer passes on, and without.
fn invocations(method: &str, pattern: &str, forms: &Forms, stored: &str) -> Vec<Invocation> {
    let mut paths = vec![pattern.to_string()];
    if pattern.contains("{id}") {
        let mut ids: Vec<&str> = forms.by_id.keys().map(String::as_str).collect();
        ids.push("no-such-form");
        paths = ids.iter().map(|id| pattern.replace("{id}", id)).collect();
    }
    if pattern.contains("{reference}") {
        let unknown = beian_functions::reference::generate();
        paths = [stored, unknown.as_str(), "NOT-A-REFERENCE", "lookup"]
            .iter()
            .map(|r| pattern.replace("{reference}", r))
            .collect();
    }
    let route_key = route_key(method, pattern);
    let claims = is_staff(pattern)
        .then(|| json!({ "custom:agency": "新城区人社局", "name": "赵经办", "sub": "staff-1" }));
    let mut out = Vec::new();
    for path in paths {
        let upload = pattern.ends_with("/upload");
        let id = path
            .rsplit('/')
            .nth(usize::from(upload))
            .unwrap_or_default()
            .to_string();
        let base = |headers: Vec<(&str, String)>, body: String, claims: Option<Value>| Invocation {
            route_key: route_key.clone(),
            method: method.to_string(),
            path: path.clone(),
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            body,
            claims,
        };
        if method != "POST" {
            out.push(base(
                vec![("accept", "application/json".into())],
                String::new(),
                claims.clone(),
            ));
            out.push(base(
                vec![("accept", "text/html".into())],
                String::new(),
                claims.clone(),
            ));
            continue;
        }
        let Some(def) = forms.get(&id) else {
            out.push(base(
                vec![("accept", "application/json".into())],
                String::new(),
                claims.clone(),
            ));
            continue;
        };
        if upload {
            // A spreadsheet of one person made from the examples, uploaded twice (stored, then
            // recognised), and on the staff route once more without a token.
            let Some(body) = upload_body(def) else {
                out.push(base(
                    vec![("accept", "application/json".into())],
                    String::new(),
                    claims.clone(),
                ));
                continue;
            };
            let headers = vec![
                ("accept", "application/json".to_string()),
                (
                    "content-type",
                    format!("multipart/form-data; boundary={UPLOAD_BOUNDARY}"),
                ),
            ];
            out.push(base(headers.clone(), body.clone(), claims.clone()));
            out.push(base(headers.clone(), body.clone(), claims.clone()));
            if claims.is_some() {
                out.push(base(headers, body, None));
            }
            continue;
        }
        let key = format!("infra-test-{}", beian_functions::reference::generate());
        for changed in [false, false, true] {
            out.push(base(
                vec![
                    ("accept", "application/json".into()),
                    ("content-type", "application/x-www-form-urlencoded".into()),
                    ("idempotency-key", key.clone()),
                ],
                example_body(def, changed),
                claims.clone(),
            ));
        }
        if claims.is_some() {
            out.push(base(
                vec![
                    ("accept", "application/json".into()),
                    ("content-type", "application/x-www-form-urlencoded".into()),
                ],
                example_body(def, false),
                None,
            ));
        }
    }
    out
}

/// Runs the function `name` (its real binary) through `invocations` against moto behind a
/// recording proxy; gives the answers in order and the calls it made.
fn run_function(
    name: &str,
    binary: &Path,
    table: &str,
    invocations: &[Invocation],
) -> (Vec<Answer>, Vec<Call>) {
    let (proxy, calls) = recording_proxy(&moto());
    let events: Vec<(String, String)> = invocations
        .iter()
        .enumerate()
        .map(|(i, inv)| {
            let id = format!("{name}-{i}");
            let event = event(inv, &id);
            (id, event)
        })
        .collect();
    let count = events.len();
    let (runtime, answers) = runtime_api(events);
    let mut child = Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &runtime)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("beian-{name}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/beian-{name}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_REGION", "cn-north-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("BEIAN_TABLE", table)
        .env("BEIAN_DYNAMODB_ENDPOINT", &proxy)
        .env("BEIAN_SUBMIT_LIMIT", "1000")
        .env("BEIAN_RECEIPT_LIMIT", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the function starts");
    let mut got = Vec::new();
    for _ in 0..count {
        match answers.recv_timeout(Duration::from_secs(60)) {
            Ok(answer) => got.push(answer),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        got.len(),
        count,
        "`{name}` answered {} of {count} events; its log:\n{}",
        got.len(),
        String::from_utf8_lossy(&output.stderr)
    );
    let calls = calls.lock().unwrap().clone();
    (got, calls)
}

/// The actions a role's policies allow, by service prefix, with their statements.
fn role_statements(t: &Value, role: &str) -> Vec<Value> {
    let resource = &resources(t)[role];
    assert_eq!(resource["Type"], "AWS::IAM::Role", "{role} is a role");
    assert!(
        resource["Properties"].get("ManagedPolicyArns").is_none(),
        "{role}: inline policies only, so the test sees every action it allows"
    );
    resource["Properties"]["Policies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// A table of its own on moto with one stored submission (for the receipt routes): the
/// table's name and the submission's reference.
async fn seeded_table() -> (aws_sdk_dynamodb::Client, String, String) {
    let client = client_from_env().await;
    let table = unique_table();
    let store = DynamoStore::new(client.clone(), table.clone());
    store
        .create_table()
        .await
        .expect("the table is created on moto");
    let forms = Forms::embedded();
    let seeding = App {
        forms: Arc::new(forms.clone()),
        store: Arc::new(store),
        settings: Settings::default(),
        routes: None,
    };
    let (seed_method, seed_path) = ROUTES
        .iter()
        .find(|(m, p)| *m == "POST" && !is_staff(p))
        .expect("a public POST route");
    let def = forms.by_id.values().next().unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("application/json"));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let seeded = seeding
        .handle(ApiRequest {
            method: Method::from_bytes(seed_method.as_bytes()).unwrap(),
            path: seed_path.replace("{id}", &def.id),
            stage: None,
            query: None,
            headers,
            body: example_body(def, false).into(),
            source_ip: "203.0.113.9".into(),
            request_id: "seed".into(),
            identity: None,
        })
        .await;
    assert_eq!(seeded.status(), 201, "the seed submission is stored");
    let stored: Value = serde_json::from_slice(seeded.body()).unwrap();
    let stored = stored["reference"].as_str().unwrap().to_string();
    (client, table, stored)
}

/// Runs the function `name` from `binary` through the requests of each of its routes and
/// checks that it did their work: no failures, and some request answered with success (so
/// the calls it made are those of real work, not of early refusals). Gives its calls.
async fn exercise(name: &str, binary: PathBuf, table: &str, stored: &str) -> Vec<Call> {
    let route_names = api::function_routes(name);
    let mut invs = Vec::new();
    for (method, pattern) in ROUTES {
        let route = api::route_name(&Method::from_bytes(method.as_bytes()).unwrap(), pattern);
        if route_names.contains(&route) {
            invs.extend(invocations(method, pattern, Forms::embedded(), stored));
        }
    }
    let (answers, calls) = {
        let name = name.to_string();
        let table = table.to_string();
        tokio::task::spawn_blocking(move || run_function(&name, &binary, &table, &invs))
            .await
            .unwrap()
    };
    for answer in &answers {
        assert!(
            (200..500).contains(&answer.status),
            "`{name}` {}: status {} — {}",
            answer.request_id,
            answer.status,
            answer.raw.chars().take(300).collect::<String>()
        );
    }
    assert!(
        answers.iter().any(|a| a.status == 200 || a.status == 201),
        "`{name}`: no request succeeded"
    );
    calls
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_allows_exactly_the_dynamodb_actions_its_function_calls() {
    moto();
    let t = template();
    let (table_resource, _) = only(&t, "AWS::DynamoDB::Table");
    let functions = template_functions(&t);

    let (client, table, stored) = seeded_table().await;

    let mut problems = Vec::new();
    for (name, _) in FUNCTIONS {
        let calls = exercise(name, binary(name), &table, &stored).await;

        // The table the function used is the one its environment names.
        for call in &calls {
            assert_eq!(
                call.table, table,
                "`{name}` called {} on another table than BEIAN_TABLE",
                call.action
            );
        }
        let called: BTreeSet<String> = calls.iter().map(|c| c.action.clone()).collect();
        let indexes: BTreeSet<String> = calls.iter().filter_map(|c| c.index.clone()).collect();

        let (_, function) = functions
            .get(*name)
            .unwrap_or_else(|| panic!("no function in the template runs `{name}`"));
        let role = get_att(&function["Properties"]["Role"])
            .map(|(role, _)| role)
            .unwrap_or_else(|| panic!("`{name}`: Role is Fn::GetAtt of its own role"));
        let statements = role_statements(&t, role);
        let mut allowed = BTreeSet::new();
        let mut resources_named = BTreeSet::new();
        for statement in &statements {
            assert_eq!(
                statement["Effect"], "Allow",
                "{role}: only Allow statements"
            );
            let actions = strings(&statement["Action"]);
            let dynamodb: Vec<&String> = actions
                .iter()
                .filter(|a| a.starts_with("dynamodb:"))
                .collect();
            if dynamodb.is_empty() {
                continue;
            }
            assert_eq!(
                dynamodb.len(),
                actions.len(),
                "{role}: DynamoDB actions in statements of their own"
            );
            allowed.extend(dynamodb.into_iter().cloned());
            let targets = match &statement["Resource"] {
                Value::Array(items) => items.clone(),
                other => vec![other.clone()],
            };
            for target in targets {
                if get_att(&target) == Some((table_resource, "Arn")) {
                    resources_named.insert("table".to_string());
                } else if let Some(sub) = target.get("Fn::Sub").and_then(Value::as_str) {
                    let index = sub
                        .strip_prefix(&format!("${{{table_resource}.Arn}}/index/"))
                        .unwrap_or_else(|| panic!("{role}: resource {sub} is not the table's"));
                    resources_named.insert(format!("index/{index}"));
                } else {
                    panic!("{role}: DynamoDB actions on {target}, not on the table");
                }
            }
        }
        if called != allowed {
            problems.push(format!(
                "`{name}` (role {role}):\n    called but not allowed: {:?}\n    allowed but never called \
                 (remove it, or if the function does call it, add a request that does to \
                 `invocations` in tests/infra_template.rs): {:?}",
                called.difference(&allowed).collect::<Vec<_>>(),
                allowed.difference(&called).collect::<Vec<_>>()
            ));
        }
        let mut needed: BTreeSet<String> = indexes.iter().map(|i| format!("index/{i}")).collect();
        if !calls.is_empty() {
            needed.insert("table".into());
        }
        if needed != resources_named {
            problems.push(format!(
                "`{name}` (role {role}): the DynamoDB statements name {resources_named:?}, \
                 the calls reach {needed:?}"
            ));
        }

        // Beyond DynamoDB, a role may only write its own function's log group and, when it
        // reaches the table, use the table's key through DynamoDB.
        let log_group = ref_to(&function["Properties"]["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("`{name}`: LoggingConfig.LogGroup is its own log group"));
        for statement in &statements {
            let actions = strings(&statement["Action"]);
            if actions.iter().all(|a| a.starts_with("dynamodb:")) {
                continue;
            }
            if actions.iter().all(|a| a.starts_with("logs:")) {
                let expected: BTreeSet<String> = ["logs:CreateLogStream", "logs:PutLogEvents"]
                    .map(String::from)
                    .into();
                assert_eq!(
                    actions.iter().cloned().collect::<BTreeSet<_>>(),
                    expected,
                    "{role}"
                );
                assert_eq!(
                    get_att(&statement["Resource"]),
                    Some((log_group, "Arn")),
                    "{role}: logs only to its own log group"
                );
            } else if actions.iter().all(|a| a.starts_with("kms:")) {
                assert!(
                    !called.is_empty(),
                    "{role}: the key, though the function never reaches the table"
                );
                let via = &statement["Condition"]["StringEquals"]["kms:ViaService"];
                assert!(
                    !via.is_null(),
                    "{role}: the key only through DynamoDB (kms:ViaService)"
                );
                for action in &actions {
                    assert!(
                        [
                            "kms:Decrypt",
                            "kms:Encrypt",
                            "kms:GenerateDataKey",
                            "kms:DescribeKey"
                        ]
                        .contains(&action.as_str()),
                        "{role}: {action} is more than DynamoDB needs of the table's key"
                    );
                }
            } else {
                panic!("{role}: unexpected statement {statement}");
            }
        }
    }
    let _ = client.delete_table().table_name(&table).send().await;
    assert!(
        problems.is_empty(),
        "roles and recorded DynamoDB calls differ:\n{}",
        problems.join("\n")
    );
}

/// The packages that `infra/package.sh` built (cargo-lambda, glibc 2.34, the `lambda`
/// profile) start as Lambda starts them and answer API Gateway's documented HTTP API event,
/// for every route of their function, against moto.
#[tokio::test(flavor = "multi_thread")]
async fn the_packaged_bootstraps_answer_api_gateway_events() {
    moto();
    let packages = std::env::var("BEIAN_LAMBDA_PACKAGES").unwrap_or_else(|_| {
        panic!(
            "BEIAN_LAMBDA_PACKAGES is not set: it names the folder that `bash infra/package.sh` \
             fills (infra/build); `bash tests/run.sh` builds the packages and sets it"
        )
    });
    let (client, table, stored) = seeded_table().await;
    for (name, _) in FUNCTIONS {
        let bootstrap = repo().join(&packages).join(name).join("bootstrap");
        assert!(
            bootstrap.is_file(),
            "no package {}: run `bash infra/package.sh`",
            bootstrap.display()
        );
        exercise(name, bootstrap, &table, &stored).await;
    }
    let _ = client.delete_table().table_name(&table).send().await;
}
