//! Response and error bodies in every shape the wire reference records (Azure 2023–2025
//! api-versions, OpenAI), parsed leniently: unknown fields never fail a call.

use aoai::Status;
use aoai::config::Operation;
use aoai::response::{Response, filter_category, filtered_categories};
use aoai::service_error::from_http;

fn parse(op: Operation, body: &str) -> Response {
    Response::parse(
        op,
        200,
        vec![("apim-request-id".into(), "req-1".into())],
        body.to_string(),
    )
    .unwrap()
}

#[test]
fn azure_2024_chat_alphabetical_with_filters() {
    let r = parse(
        Operation::Chat,
        r#"{"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"low"}},"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"Hello! How can I assist you today?","role":"assistant"}}],"created":1733358923,"id":"chatcmpl-AaBb","model":"gpt-4o-2024-08-06","object":"chat.completion","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false}}}],"system_fingerprint":"fp_04751d0b65","usage":{"completion_tokens":9,"prompt_tokens":11,"total_tokens":20}}"#,
    );
    assert_eq!(
        r.choices[0].text.as_deref(),
        Some("Hello! How can I assist you today?")
    );
    assert_eq!(r.usage.unwrap().total_tokens, Some(20));
    assert_eq!(r.usage.unwrap().reasoning_tokens, None);
    assert_eq!(r.request_id().as_deref(), Some("req-1"));
    let cf = r.choices[0].content_filter.as_ref().unwrap();
    assert_eq!(filter_category(cf, "violence"), Some((false, "low".into())));
    assert_eq!(
        filter_category(cf, "protected_material_code"),
        Some((false, "not_detected".into()))
    );
    assert_eq!(
        filter_category(&r.prompt_filters[0].1, "jailbreak"),
        Some((false, "not_detected".into()))
    );
    assert!(filtered_categories(cf).is_empty());
}

#[test]
fn openai_chat_with_refusal_and_usage_details() {
    let r = parse(
        Operation::Chat,
        r#"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":3,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":1,"rejected_prediction_tokens":2}},"system_fingerprint":null,"service_tier":"default","some_future_field":{"x":[1,2]}}"#,
    );
    assert_eq!(r.choices[0].text, None);
    assert_eq!(
        r.choices[0].refusal.as_deref(),
        Some("I can't help with that.")
    );
    let u = r.usage.unwrap();
    assert_eq!(
        (
            u.cached_tokens,
            u.accepted_prediction_tokens,
            u.rejected_prediction_tokens
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(r.system_fingerprint, None);
}

#[test]
fn tool_calls_with_null_content_and_empty_filter_results() {
    let r = parse(
        Operation::Chat,
        r#"{"choices":[{"content_filter_results":{},"finish_reason":"tool_calls","index":0,"logprobs":null,"message":{"content":null,"role":"assistant","tool_calls":[{"function":{"arguments":"{\"location\":\"Boston\"}","name":"get_weather"},"id":"call_a","type":"function"},{"function":{"arguments":"{}","name":"get_time"},"id":"call_b","type":"function"}]}}],"created":1,"id":"x","model":"gpt-4o","object":"chat.completion","usage":{"completion_tokens":1,"prompt_tokens":1,"total_tokens":2}}"#,
    );
    let c = &r.choices[0];
    assert_eq!(c.text, None);
    assert_eq!(c.tool_calls.len(), 2);
    assert_eq!(
        (c.tool_calls[1].id.as_str(), c.tool_calls[1].name.as_str()),
        ("call_b", "get_time")
    );
    assert_eq!(c.tool_calls[0].arguments, r#"{"location":"Boston"}"#);
}

#[test]
fn legacy_function_call_is_a_tool_call() {
    let r = parse(
        Operation::Chat,
        r#"{"choices":[{"finish_reason":"function_call","index":0,"message":{"content":null,"role":"assistant","function_call":{"name":"f","arguments":"{}"}}}]}"#,
    );
    assert_eq!(r.choices[0].tool_calls[0].name, "f");
}

#[test]
fn o1_reasoning_only_answer() {
    let r = parse(
        Operation::Chat,
        r#"{"choices":[{"content_filter_results":{},"finish_reason":"length","index":0,"logprobs":null,"message":{"content":"","refusal":null,"role":"assistant"}}],"created":1,"id":"x","model":"o1-2024-12-17","object":"chat.completion","usage":{"completion_tokens":50,"completion_tokens_details":{"accepted_prediction_tokens":0,"audio_tokens":0,"reasoning_tokens":50,"rejected_prediction_tokens":0},"prompt_tokens":20,"prompt_tokens_details":{"audio_tokens":0,"cached_tokens":0},"total_tokens":70}}"#,
    );
    assert_eq!(r.choices[0].text.as_deref(), Some(""));
    assert_eq!(r.choices[0].finish_reason.as_deref(), Some("length"));
    assert_eq!(r.usage.unwrap().reasoning_tokens, Some(50));
}

#[test]
fn legacy_completions_prompt_array_logprobs_and_old_annotations() {
    let r = parse(
        Operation::Completion,
        r#"{"id":"cmpl-1","object":"text_completion","created":1,"model":"gpt-35-turbo-instruct","prompt_annotations":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}},{"prompt_index":1,"content_filter_results":{"custom_blocklists":[{"filtered":true,"id":"myList"}]}}],"choices":[{"text":" second","index":1,"finish_reason":"length","logprobs":{"tokens":[" second"],"token_logprobs":[-0.1],"top_logprobs":[{" second":-0.1}],"text_offset":[6]},"content_filter_results":{}},{"text":" first","index":0,"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":8,"completion_tokens":32,"total_tokens":40}}"#,
    );
    assert_eq!(
        r.choices[0].text.as_deref(),
        Some(" first"),
        "choices are ordered by index"
    );
    assert_eq!(
        r.choices[1].logprobs.as_ref().unwrap()["tokens"][0],
        " second"
    );
    assert_eq!(r.prompt_filters.len(), 2);
    assert_eq!(
        filtered_categories(&r.prompt_filters[1].1),
        vec!["custom_blocklists"]
    );
}

#[test]
fn blocklists_as_object_and_content_filter_finish() {
    let r = parse(
        Operation::Chat,
        r#"{"choices":[{"content_filter_results":{"custom_blocklists":{"filtered":true,"details":[{"filtered":true,"id":"b1"}]},"violence":{"filtered":true,"severity":"high"}},"finish_reason":"content_filter","index":0,"message":{"content":"Partial","role":"assistant"}}]}"#,
    );
    let mut cats = filtered_categories(r.choices[0].content_filter.as_ref().unwrap());
    cats.sort();
    assert_eq!(cats, vec!["custom_blocklists", "violence"]);
    assert_eq!(
        r.choices[0].finish_reason.as_deref(),
        Some("content_filter")
    );
}

#[test]
fn not_json_is_a_parse_error_with_a_snippet() {
    let e = Response::parse(
        Operation::Chat,
        200,
        vec![("content-type".into(), "text/html".into())],
        "<html><body>Gateway</body></html>".into(),
    )
    .unwrap_err();
    assert_eq!(e.status, Status::ResponseParse);
    assert!(
        e.message.contains("text/html") && e.message.contains("Gateway"),
        "{}",
        e.message
    );
    let e =
        Response::parse(Operation::Chat, 200, vec![], r#"{"choices":[{"mess"#.into()).unwrap_err();
    assert_eq!(e.status, Status::ResponseParse);
}

#[test]
fn every_recorded_error_body() {
    let cases = [
        (
            401,
            r#"{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#,
            Status::Authentication,
            Some("401"),
        ),
        (
            404,
            r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#,
            Status::NotFound,
            Some("DeploymentNotFound"),
        ),
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-abc.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            Status::Authentication,
            Some("invalid_api_key"),
        ),
        (
            404,
            r#"{"error":{"message":"The model `gpt-5` does not exist","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
            Status::NotFound,
            Some("model_not_found"),
        ),
        (
            429,
            r#"{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds."}}"#,
            Status::RateLimited,
            Some("429"),
        ),
        (
            429,
            r#"{"error":{"message":"Rate limit reached for gpt-4o","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#,
            Status::RateLimited,
            Some("rate_limit_exceeded"),
        ),
        (
            400,
            r#"{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation","content_filter_result":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":true,"detected":true},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"medium"}}}}}"#,
            Status::ContentFiltered,
            Some("content_filter"),
        ),
        (
            400,
            r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#,
            Status::BadRequest,
            Some("unsupported_parameter"),
        ),
        (
            500,
            r#"{"error":{"code":"InternalServerError","message":"The server had an error while processing your request. Sorry about that!"}}"#,
            Status::Server,
            Some("InternalServerError"),
        ),
        (503, "", Status::Server, None),
        (
            403,
            r#"{"error":{"code":"PermissionDenied","message":"Principal does not have access to API/Operation."}}"#,
            Status::PermissionDenied,
            Some("PermissionDenied"),
        ),
    ];
    for (http, body, status, code) in cases {
        let e = from_http(http, vec![], body, "res.openai.azure.com");
        assert_eq!((e.status, e.code.as_deref()), (status, code), "{body}");
        assert_eq!(e.http_status, http);
        assert!(
            e.message
                .starts_with(&format!("HTTP {http} from res.openai.azure.com")),
            "{}",
            e.message
        );
    }
    let e = from_http(400, vec![], cases[6].1, "h");
    let mut cats = e.filtered_categories.clone();
    cats.sort();
    assert_eq!(cats, vec!["jailbreak", "violence"]);
    assert_eq!(e.param.as_deref(), Some("prompt"));
}
