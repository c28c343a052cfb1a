// A console chat with streaming, on the aoai C# binding.
//
//   mono Chat.exe                      interactive (a terminal): one conversation (on .NET, Ctrl+C stops an answer)
//   mono Chat.exe "a question"         answers that one prompt and exits
//   echo "a question" | mono Chat.exe  answers the prompt read from stdin and exits
//
// Configuration comes from the environment (AZURE_OPENAI_ENDPOINT, AZURE_OPENAI_API_KEY,
// AZURE_OPENAI_DEPLOYMENT_NAME, OPENAI_API_VERSION, or OPENAI_API_KEY / OPENAI_BASE_URL):
// examples/csharp/run.sh points it at the local emulator unless AZURE_OPENAI_ENDPOINT is set.
// Usage goes to stderr, the answer to stdout. Exit status: 0, or 1 with one stderr line on failure.
using System;
using System.Text;
using System.Threading;
using Aoai;

internal static class ChatExample
{
    private const string SystemPrompt = "You are a concise, friendly assistant.";

    private static int Main(string[] args)
    {
        try
        {
            using (AoaiClient client = AoaiClient.FromEnvironment())
            {
                if (args.Length > 0) return AnswerOnce(client, string.Join(" ", args));
                if (Console.IsInputRedirected)
                {
                    string prompt = Console.In.ReadToEnd().Trim();
                    if (prompt.Length == 0)
                    {
                        Console.Error.WriteLine("chat: no prompt on stdin");
                        return 1;
                    }
                    return AnswerOnce(client, prompt);
                }
                return Interactive(client);
            }
        }
        catch (Exception e)
        {
            Console.Error.WriteLine("chat: " + Describe(e));
            return 1;
        }
    }

    /// <summary>One prompt: stream the answer through the blocking callback API.</summary>
    private static int AnswerOnce(AoaiClient client, string prompt)
    {
        using (var request = new ChatRequest())
        {
            request.AddSystem(SystemPrompt).AddUser(prompt);
            request.StreamIncludeUsage = true;
            ChatResponse response = client.ChatStream(request, ev =>
            {
                if (ev.Kind == StreamEventKind.TextDelta) Console.Out.Write(ev.Text);
                return true;
            });
            Console.Out.WriteLine();
            PrintUsage(response);
            return 0;
        }
    }

    /// <summary>
    /// A conversation: each answer streams through the poll API (StartChat + WaitForEvent), so
    /// Ctrl+C can cancel it from the signal thread; the history grows turn by turn.
    /// </summary>
    private static int Interactive(AoaiClient client)
    {
        // Ctrl+C stops the running answer on .NET. Mono's Console.CancelKeyPress switches the
        // terminal into its own mode (it clears the screen and stops the echo), so under Mono
        // Ctrl+C keeps its default meaning: it ends the program.
        bool handleCtrlC = Type.GetType("Mono.Runtime") == null;
        // A plain reader on stdin: Mono's Console.ReadLine also switches the terminal mode.
        var stdin = new System.IO.StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false));
        Console.Error.WriteLine("aoai " + AoaiLibrary.Version + " chat. Empty line or Ctrl+D quits" +
                                (handleCtrlC ? "; Ctrl+C stops an answer." : "."));
        using (var history = new ChatRequest())
        {
            history.AddSystem(SystemPrompt);
            history.StreamIncludeUsage = true;
            ChatOperation current = null;
            ConsoleCancelEventHandler onCancel = (s, e) =>
            {
                ChatOperation op = Volatile.Read(ref current);
                if (op == null) return;          // no answer running: let Ctrl+C end the program
                e.Cancel = true;
                op.Cancel();                     // any thread: closes the connection at once
            };
            if (handleCtrlC) Console.CancelKeyPress += onCancel;
            try
            {
                while (true)
                {
                    Console.Error.Write("> ");
                    string line = stdin.ReadLine();
                    if (string.IsNullOrWhiteSpace(line)) return 0;
                    history.AddUser(line);
                    using (ChatOperation op = client.StartChat(history, true))
                    {
                        Volatile.Write(ref current, op);
                        var answer = new StringBuilder();
                        StreamEvent ev;
                        while (true)
                        {
                            while (op.TryGetEvent(out ev)) Show(ev, answer);
                            if (op.IsDone)
                            {
                                while (op.TryGetEvent(out ev)) Show(ev, answer);   // queued before the end
                                break;
                            }
                            op.WaitForEvent(TimeSpan.FromMilliseconds(250));
                        }
                        Volatile.Write(ref current, null);
                        Console.Out.WriteLine();
                        if (op.State == OperationState.Done)
                        {
                            ChatResponse response = op.GetResponse();
                            history.AddAssistantMessage(response);
                            PrintUsage(response);
                        }
                        else
                        {
                            try
                            {
                                op.GetResponse();
                            }
                            catch (OperationCanceledException)
                            {
                                Console.Error.WriteLine("(stopped)");
                            }
                            catch (Exception e)
                            {
                                Console.Error.WriteLine("chat: " + Describe(e));
                            }
                            // Keep the conversation consistent: what was shown becomes the turn.
                            history.AddAssistant(answer.Length > 0 ? answer.ToString() : "(no answer)");
                        }
                    }
                }
            }
            finally
            {
                if (handleCtrlC) Console.CancelKeyPress -= onCancel;
            }
        }
    }

    private static void Show(StreamEvent ev, StringBuilder answer)
    {
        if (ev.Kind != StreamEventKind.TextDelta) return;
        answer.Append(ev.Text);
        Console.Out.Write(ev.Text);
    }

    private static void PrintUsage(ChatResponse response)
    {
        if (response != null && response.Usage != null)
            Console.Error.WriteLine("usage: prompt=" + response.Usage.PromptTokens + " completion=" + response.Usage.CompletionTokens +
                                    " total=" + response.Usage.TotalTokens + (response.RequestId != null ? " request=" + response.RequestId : ""));
    }

    private static string Describe(Exception e)
    {
        var ae = e as AoaiException ?? e.InnerException as AoaiException;
        if (ae == null) return e.Message;
        var sb = new StringBuilder();
        sb.Append(ae.Status);
        if (ae.HttpStatus != 0) sb.Append(" (HTTP ").Append(ae.HttpStatus).Append(')');
        if (ae.ErrorCode != null) sb.Append(" [").Append(ae.ErrorCode).Append(']');
        sb.Append(": ").Append(e.Message);
        var rl = ae as AoaiRateLimitException;
        if (rl != null && rl.RetryAfter.HasValue) sb.Append(" (retry after ").Append(rl.RetryAfter.Value.TotalSeconds).Append(" s)");
        return sb.ToString();
    }
}
