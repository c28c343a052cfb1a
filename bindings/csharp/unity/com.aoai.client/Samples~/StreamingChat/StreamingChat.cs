// Streams a chat answer into a UI Text without ever blocking the main thread:
// OnEnable starts a streaming operation, Update() drains its events (poll API: no callback
// runs on a foreign thread, so touching Unity objects is safe), OnDisable cancels it,
// OnDestroy and an editor assembly reload dispose the client (the native library outlives the
// scripting domain; disposing guarantees no native callback into unloaded code).
//
// Setup: drop libaoai for your platform into Packages/com.aoai.client/Plugins (see its
// README), add this component to a GameObject, assign a UI Text to `output`. Leave endpoint
// and apiKey empty to read AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY /
// AZURE_OPENAI_DEPLOYMENT_NAME from the environment. Do not ship API keys inside a game build:
// use a token from your own backend (AoaiClientOptions.TokenProvider) in production.
using System;
using System.Text;
using Aoai;
using UnityEngine;
using UnityEngine.UI;
#if UNITY_EDITOR
using UnityEditor;
#endif

public class StreamingChat : MonoBehaviour
{
    [Header("Connection (empty: AZURE_OPENAI_* environment variables)")]
    public string endpoint = "";
    public string apiKey = "";
    public string deployment = "gpt-4o";

    [Header("Conversation")]
    [TextArea(2, 6)]
    public string systemPrompt = "You are a helpful game character. Answer in two sentences.";
    [TextArea(2, 6)]
    public string prompt = "Tell me about this place.";
    public bool askOnEnable = true;

    [Header("Output")]
    public Text output;
    [Tooltip("Events drained per frame at most, so a burst never costs a long frame.")]
    public int maxEventsPerFrame = 64;

    private AoaiClient _client;
    private ChatOperation _operation;
    private readonly StringBuilder _text = new StringBuilder();

    /// <summary>True while an answer is being streamed.</summary>
    public bool IsStreaming { get { return _operation != null; } }

    /// <summary>True while the component holds a client.</summary>
    public bool HasClient { get { return _client != null; } }

    /// <summary>The message of the last failure, or null.</summary>
    public string LastError { get; private set; }

    private void Awake()
    {
#if UNITY_EDITOR
        AssemblyReloadEvents.beforeAssemblyReload += OnBeforeAssemblyReload;
#endif
    }

    private void OnEnable()
    {
        if (askOnEnable && !string.IsNullOrEmpty(prompt)) Ask(prompt);
    }

    /// <summary>Starts streaming the answer to <paramref name="question"/> (cancels a running one).</summary>
    public void Ask(string question)
    {
        Cancel();
        LastError = null;
        _text.Length = 0;
        try
        {
            if (_client == null) _client = CreateClient();
            using (var request = new ChatRequest())
            {
                if (!string.IsNullOrEmpty(systemPrompt)) request.AddSystem(systemPrompt);
                request.AddUser(question);
                // The request is copied when the operation starts: disposing it here is fine.
                _operation = _client.StartChat(request, true);
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private AoaiClient CreateClient()
    {
        if (string.IsNullOrEmpty(endpoint)) return AoaiClient.FromEnvironment();
        return new AoaiClient(new AoaiClientOptions
        {
            Endpoint = endpoint,
            ApiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey,
            Deployment = deployment,
        });
    }

    private void Update()
    {
        if (_operation == null) return;
        try
        {
            StreamEvent ev;
            int budget = maxEventsPerFrame;
            bool drained = true;
            while (_operation.TryGetEvent(out ev))
            {
                if (ev.Kind == StreamEventKind.TextDelta) _text.Append(ev.Text);
                if (--budget <= 0) { drained = false; break; }
            }
            if (output != null) output.text = _text.ToString();
            if (!drained) return;   // more next frame

            OperationState state = _operation.Poll();
            if (state == OperationState.Pending) return;
            // Events that arrived between the drain and the poll.
            while (_operation.TryGetEvent(out ev))
                if (ev.Kind == StreamEventKind.TextDelta) _text.Append(ev.Text);
            if (output != null) output.text = _text.ToString();
            if (state == OperationState.Done)
            {
                ChatResponse response = _operation.GetResponse();
                if (response.Usage != null) Debug.Log("aoai: " + response.Usage + " request " + response.RequestId);
            }
            else if (state == OperationState.Failed)
            {
                _operation.GetResponse();   // throws the operation's exception
            }
            _operation.Dispose();
            _operation = null;
        }
        catch (Exception e)
        {
            Fail(e);
        }
    }

    private void Fail(Exception e)
    {
        LastError = e.Message;
        var ae = e as AoaiException;
        Debug.LogWarning(ae != null ? "aoai " + ae.Status + " (HTTP " + ae.HttpStatus + "): " + e.Message : e.ToString());
        if (_operation != null)
        {
            _operation.Dispose();
            _operation = null;
        }
    }

    /// <summary>Stops the current answer at once (the connection is closed).</summary>
    public void Cancel()
    {
        if (_operation == null) return;
        _operation.Cancel();
        _operation.Dispose();
        _operation = null;
    }

    private void OnDisable()
    {
        Cancel();
    }

    private void OnDestroy()
    {
        Shutdown();
#if UNITY_EDITOR
        AssemblyReloadEvents.beforeAssemblyReload -= OnBeforeAssemblyReload;
#endif
    }

#if UNITY_EDITOR
    private void OnBeforeAssemblyReload()
    {
        Shutdown();
    }
#endif

    private void Shutdown()
    {
        Cancel();
        if (_client != null)
        {
            _client.Dispose();
            _client = null;
        }
    }
}
