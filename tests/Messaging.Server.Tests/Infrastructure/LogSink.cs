using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Messaging.Server.Tests.Infrastructure;

/// <summary>Captures every log line (message and structured values) so tests can check what logs never contain.</summary>
public sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    private readonly ConcurrentQueue<string> _aboveWarning = new();
    private int _aboveWarningCount;

    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>How many lines were logged at Error or Critical, read in constant time (a long fuzz run checks it after
    /// every call; counting or skipping <see cref="Lines"/> would cost a walk over every line logged so far).</summary>
    public int AboveWarningCount => Volatile.Read(ref _aboveWarningCount);

    /// <summary>The lines logged at Error or Critical, in order.</summary>
    public IReadOnlyCollection<string> AboveWarning => _aboveWarning;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? string.Join(' ', pairs.Select(p => $"{p.Key}={p.Value}"))
                : string.Empty;
            var line = $"{logLevel} {category}: {formatter(state, exception)} | {values} | {exception}";
            sink._lines.Enqueue(line);
            if (logLevel >= LogLevel.Error && logLevel != LogLevel.None)
            {
                sink._aboveWarning.Enqueue(line);
                Interlocked.Increment(ref sink._aboveWarningCount);
            }
        }
    }
}
