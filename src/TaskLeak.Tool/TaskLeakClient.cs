using System;
using System.Collections.Generic;
using System.Diagnostics.Tracing;
using System.IO;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using TaskLeak.Diagnostics;

namespace TaskLeak.Tool;

/// <summary>Why a request got no reply; each maps to its own exit code.</summary>
internal enum RequestFailure
{
    NoSuchProcess = 2,
    NoTaskLeak = 3,
    PermissionDenied = 4,
    Failed = 5,
}

/// <summary>A request that got no usable reply.</summary>
internal sealed class RequestException : Exception
{
    internal RequestException(RequestFailure failure, string message, Exception? inner = null)
        : base(message, inner) => Failure = failure;

    internal RequestFailure Failure { get; }
}

/// <summary>
/// One request to a process's <c>TaskLeak</c> EventSource: an EventPipe session enabling it with the command as
/// arguments, read until the reply's last chunk arrives, then stopped. Nothing is left running in the target.
/// </summary>
internal static class TaskLeakClient
{
    internal static async Task<JsonDocument> RequestAsync(int pid, string command, IReadOnlyDictionary<string, string>? arguments,
        TimeSpan timeout, CancellationToken cancellation)
    {
        if (!ProcessFinder.Exists(pid))
        {
            throw new RequestException(RequestFailure.NoSuchProcess, $"no such process: {pid}");
        }

        string requestId = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();
        var filter = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [CommandProtocol.CommandKey] = command,
            [CommandProtocol.RequestIdKey] = requestId,
        };
        if (arguments is not null)
        {
            foreach (KeyValuePair<string, string> pair in arguments)
            {
                filter[pair.Key] = pair.Value;
            }
        }

        var provider = new EventPipeProvider(CommandProtocol.SourceName, EventLevel.Informational, -1, filter);
        EventPipeSession session = Start(pid, provider);
        var assembler = new ReplyAssembler(requestId);
        var reply = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task reading = Task.Run(() =>
        {
            using var source = new EventPipeEventSource(session.EventStream);
            source.Dynamic.All += data =>
            {
                if ((int)data.ID != CommandProtocol.ReplyEventId || data.ProviderName != CommandProtocol.SourceName)
                {
                    return;
                }

                try
                {
                    if (assembler.Add((string)data.PayloadValue(0), (int)data.PayloadValue(1), (int)data.PayloadValue(2), (string)data.PayloadValue(3)))
                    {
                        reply.TrySetResult(assembler.Text);
                    }
                }
                catch (Exception e) when (e is InvalidOperationException or InvalidCastException)
                {
                    reply.TrySetException(new RequestException(RequestFailure.Failed, "malformed reply: " + e.Message, e));
                }
            };
            source.Process();
        }, CancellationToken.None);

        try
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
            timer.CancelAfter(timeout);
            Task finished = await Task.WhenAny(reply.Task, reading, Task.Delay(Timeout.Infinite, timer.Token)).ConfigureAwait(false);
            if (finished == reply.Task)
            {
                return JsonDocument.Parse(await reply.Task.ConfigureAwait(false));
            }

            cancellation.ThrowIfCancellationRequested();
            if (!ProcessFinder.Exists(pid))
            {
                throw new RequestException(RequestFailure.NoSuchProcess, $"process {pid} exited before it answered");
            }

            throw new RequestException(RequestFailure.NoTaskLeak,
                $"process {pid} did not answer as TaskLeak within {timeout.TotalSeconds:0.#} s: it does not run woven code, no woven " +
                "async method has run yet, or its TaskLeak runtime predates dotnet-taskleak (try --timeout for a busy process)");
        }
        finally
        {
            Stop(session);
            await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
            session.Dispose();
        }
    }

    private static EventPipeSession Start(int pid, EventPipeProvider provider)
    {
        try
        {
            // No rundown: method names are not needed, and rundown would cost the target a walk of its loaded code.
            return new DiagnosticsClient(pid).StartEventPipeSession(new[] { provider }, requestRundown: false, circularBufferMB: 16);
        }
        catch (Exception e) when (IsPermissionDenied(e))
        {
            throw new RequestException(RequestFailure.PermissionDenied,
                $"permission denied for process {pid}: run as the same user as the process (or root)", e);
        }
        catch (ServerNotAvailableException e)
        {
            if (!ProcessFinder.Exists(pid))
            {
                throw new RequestException(RequestFailure.NoSuchProcess, $"no such process: {pid}", e);
            }

            throw new RequestException(RequestFailure.NoTaskLeak,
                $"process {pid} has no .NET diagnostics channel: not a .NET process, or started with DOTNET_EnableDiagnostics=0", e);
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or ServerErrorException)
        {
            throw new RequestException(RequestFailure.Failed, $"could not start a session in process {pid}: {e.Message}", e);
        }
    }

    private static void Stop(EventPipeSession session)
    {
        try
        {
            session.Stop();
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or ServerErrorException or ServerNotAvailableException or ObjectDisposedException)
        {
            // The target exited or closed the channel: nothing is left to stop.
        }
    }

    private static bool IsPermissionDenied(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is UnauthorizedAccessException || e is SocketException { SocketErrorCode: SocketError.AccessDenied })
            {
                return true;
            }
        }

        return false;
    }
}
