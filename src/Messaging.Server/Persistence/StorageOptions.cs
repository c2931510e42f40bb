using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace Messaging.Server.Persistence;

/// <summary>The storage engine, chosen by configuration; the repositories run the same SQL on both.</summary>
public enum StorageProvider
{
    /// <summary>The embedded default: one SQLite file under <see cref="StorageOptions.DataDirectory"/>.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server (<see cref="StorageOptions.ConnectionString"/>): several instances may share it.</summary>
    Postgres,
}

/// <summary>Where the database lives (section <c>Messaging:Storage</c>): the embedded SQLite file by default, or a
/// PostgreSQL server.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Messaging:Storage";

    /// <summary>The engine (<c>Sqlite</c> by default, or <c>Postgres</c>).</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>The Npgsql connection string of the PostgreSQL database (provider <c>Postgres</c> only). It holds a
    /// password: it is never logged, and a validation error never quotes it.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The data folder, created on first run. Relative paths are resolved against the current directory.</summary>
    [Required]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>The database file name inside <see cref="DataDirectory"/>.</summary>
    [Required]
    [RegularExpression(@"^[A-Za-z0-9._-]+$")]
    public string FileName { get; set; } = "messaging.db";

    /// <summary>Seconds a command waits for the write lock before failing.</summary>
    [Range(1, 600)]
    public int BusyTimeoutSeconds { get; set; } = 30;

    /// <summary>The nice value asked for the database writer thread (Linux; −20 to 0, 0 leaves it alone). Every write
    /// waits on that one thread, so under CPU pressure it should not queue behind request threads. Needs
    /// <c>CAP_SYS_NICE</c> or a permissive <c>RLIMIT_NICE</c>; without them the writer runs at normal priority.</summary>
    [Range(-20, 0)]
    public int WriterNice { get; set; } = -10;

    public string DatabasePath => Path.GetFullPath(Path.Combine(DataDirectory, FileName));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Enum.IsDefined(Provider))
        {
            yield return new ValidationResult("Provider is Sqlite or Postgres.", [nameof(Provider)]);
        }

        if (Provider != StorageProvider.Postgres)
        {
            yield break;
        }

        string? problem = null;
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            problem = "The Postgres provider needs Messaging:Storage:ConnectionString.";
        }
        else
        {
            try
            {
                var parsed = new NpgsqlConnectionStringBuilder(ConnectionString);
                if (string.IsNullOrEmpty(parsed.Host) || string.IsNullOrEmpty(parsed.Database))
                {
                    problem = "Messaging:Storage:ConnectionString names no Host or no Database.";
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException)
            {
                // The parser's message may quote the string, password included: never pass it on.
                problem = "Messaging:Storage:ConnectionString is not a valid PostgreSQL connection string.";
            }
        }

        if (problem is not null)
        {
            yield return new ValidationResult(problem, [nameof(ConnectionString)]);
        }
    }
}
