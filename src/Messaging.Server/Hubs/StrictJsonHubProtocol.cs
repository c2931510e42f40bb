using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Messaging.Contracts;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;

namespace Messaging.Server.Hubs;

/// <summary>
/// SignalR's JSON hub protocol with typed refusals for what it cannot read (issue 11, item 7). SignalR answers an
/// argument it cannot bind (malformed base64, a non-GUID id, a wrong type, an unknown field, a wrong count, an unknown
/// method) before any hub filter runs, with an error that names no code; a frame that is not JSON at all closes the
/// connection without one. Here:
/// <list type="bullet">
/// <item>every binding failure becomes a <see cref="HubException"/> <c>request.malformed: …</c> (the dispatcher passes a
/// HubException's message to the client as is), and the connection stays open;</item>
/// <item>a frame that is not valid hub JSON but still names its invocation (a truncated body, say) is answered the
/// same way, so the caller gets its error and the connection stays open;</item>
/// <item>a frame that names no invocation cannot be answered: the connection is closed with
/// <c>request.malformed</c> in its close message;</item>
/// <item>streaming invocations and client-to-server streams are refused as malformed: this hub has no streaming
/// method.</item>
/// </list>
/// Unknown fields are refused by the payload options (<see cref="JsonUnmappedMemberHandling.Disallow"/>, set by
/// <see cref="StrictHubProtocolExtensions.AddStrictHubProtocol"/>): every hub request has a closed schema.
/// </summary>
internal sealed class StrictJsonHubProtocol(IOptions<JsonHubProtocolOptions> options) : IHubProtocol
{
    private const byte RecordSeparator = 0x1e;
    private readonly JsonHubProtocol _inner = new(options);

    public string Name => _inner.Name;

    public int Version => _inner.Version;

    public TransferFormat TransferFormat => _inner.TransferFormat;

    public bool IsVersionSupported(int version) => _inner.IsVersionSupported(version);

    public ReadOnlyMemory<byte> GetMessageBytes(HubMessage message) => _inner.GetMessageBytes(message);

    public void WriteMessage(HubMessage message, IBufferWriter<byte> output) => _inner.WriteMessage(message, output);

    public bool TryParseMessage(ref ReadOnlySequence<byte> input, IInvocationBinder binder, [NotNullWhen(true)] out HubMessage? message)
    {
        if (input.PositionOf(RecordSeparator) is not { } separator)
        {
            message = null;
            return false;
        }

        var frame = input.Slice(0, input.GetPosition(1, separator));
        var attempt = frame;
        try
        {
            if (!_inner.TryParseMessage(ref attempt, binder, out message))
            {
                throw Malformed("The message could not be read.");
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or FormatException or OverflowException)
        {
            input = input.Slice(frame.End);
            message = Salvage(frame.Slice(0, separator));
            return true;
        }

        input = input.Slice(frame.End);
        message = message switch
        {
            InvocationBindingFailureMessage failure => Refusal(failure.InvocationId, failure.Target, Describe(failure.BindingFailure.SourceException)),
            StreamInvocationMessage stream => Refusal(stream.InvocationId, stream.Target, "This hub has no streaming method; invoke it instead."),
            InvocationMessage { StreamIds.Length: > 0 } invocation => Refusal(invocation.InvocationId, invocation.Target, "This hub takes no client streams."),
            _ => message,
        };
        return true;
    }

    /// <summary>
    /// A frame that is not valid hub JSON: find, as far as it can be read, the invocation it belongs to, and answer
    /// that invocation with a refusal. Without an invocation to answer the connection cannot go on: the caller would
    /// wait for an answer that never comes, so it is closed with the code.
    /// </summary>
    private static InvocationBindingFailureMessage Salvage(ReadOnlySequence<byte> payload)
    {
        string? invocationId = null;
        string? target = null;
        long? type = null;
        var reader = new Utf8JsonReader(payload, isFinalBlock: true, state: default);
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }

                if (reader.ValueTextEquals("invocationId"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    invocationId = reader.GetString();
                }
                else if (reader.ValueTextEquals("target"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    target = reader.GetString();
                }
                else if (reader.ValueTextEquals("type"u8) && reader.Read() && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var t))
                {
                    type = t;
                }
            }
        }
        catch (JsonException)
        {
            // Read as far as it goes: a truncated body still names its invocation first.
        }

        if ((type is null or HubProtocolConstants.InvocationMessageType or HubProtocolConstants.StreamInvocationMessageType)
            && !string.IsNullOrEmpty(invocationId))
        {
            return Refusal(invocationId, target ?? string.Empty, "The message is not valid JSON for the hub protocol.");
        }

        throw Malformed("The message is not a hub invocation that can be answered; the connection is closed.");
    }

    private static InvocationBindingFailureMessage Refusal(string? invocationId, string target, string text)
        => new(invocationId, target, ExceptionDispatchInfo.Capture(Malformed(text)));

    private static HubException Malformed(string text) => new($"{ErrorCodes.Malformed}: {text}");

    /// <summary>What is wrong, with the JSON path when there is one — never the value sent.</summary>
    private static string Describe(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is JsonException { Path: { Length: > 0 } path })
            {
                return $"The argument could not be read at {path} (wrong type, malformed value or unknown field).";
            }
        }

        return exception is HubException
            ? "No such hub method."
            : "The arguments could not be read (wrong type, malformed value, unknown field or wrong count).";
    }
}

internal static class StrictHubProtocolExtensions
{
    /// <summary>SignalR's dispatcher logs every failed invocation — refusals included — at Error with a stack trace;
    /// <see cref="HubErrorFilter"/> logs each once at the right level instead.</summary>
    public const string DispatcherLogCategory = "Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher";

    /// <summary>Puts <see cref="StrictJsonHubProtocol"/> in the place of SignalR's JSON protocol (same name, "json"),
    /// whether this runs before or after <c>AddSignalR</c>: the resolver below skips SignalR's own JSON protocol.</summary>
    public static IServiceCollection AddStrictHubProtocol(this IServiceCollection services)
    {
        // Every hub request is a closed record: a field it does not have is refused, not ignored.
        services.Configure<JsonHubProtocolOptions>(o => o.PayloadSerializerOptions.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow);
        services.AddSingleton<IHubProtocol, StrictJsonHubProtocol>();
        services.AddSingleton<IHubProtocolResolver, StrictHubProtocolResolver>();
        services.AddLogging(logging => logging.AddFilter(DispatcherLogCategory, LogLevel.Critical));
        return services;
    }
}

/// <summary>SignalR's protocol resolution (by name, case-insensitive, among the protocols the hub supports), with
/// SignalR's own <see cref="JsonHubProtocol"/> left out so that "json" is always <see cref="StrictJsonHubProtocol"/>.</summary>
internal sealed class StrictHubProtocolResolver : IHubProtocolResolver
{
    private readonly Dictionary<string, IHubProtocol> _protocols = new(StringComparer.OrdinalIgnoreCase);

    public StrictHubProtocolResolver(IEnumerable<IHubProtocol> protocols)
    {
        foreach (var protocol in protocols.Where(p => p is not JsonHubProtocol))
        {
            _protocols[protocol.Name] = protocol;
        }

        AllProtocols = [.. _protocols.Values];
    }

    public IReadOnlyList<IHubProtocol> AllProtocols { get; }

    public IHubProtocol? GetProtocol(string protocolName, IReadOnlyList<string>? supportedProtocols)
        => _protocols.TryGetValue(protocolName, out var protocol)
            && (supportedProtocols is null || supportedProtocols.Contains(protocolName, StringComparer.OrdinalIgnoreCase))
            ? protocol
            : null;
}
