using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Persistence;

/// <summary>Where the embedded SQLite database lives (section <c>Messaging:Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string Section = "Messaging:Storage";

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
}
