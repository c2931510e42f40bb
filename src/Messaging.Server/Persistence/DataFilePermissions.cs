namespace Messaging.Server.Persistence;

/// <summary>
/// The database holds who talks to whom while envelopes wait, members' work identities and the audit log: only the
/// server's own user may read it. The data folder is created 0700 and the database file 0600 before SQLite opens it
/// (SQLite gives its -wal and -shm files the database file's mode); existing ones are tightened to the same modes at
/// every start, so a deployment made before this rule is mended (issue 11, item 7). On Windows the folder's inherited
/// ACL applies.
/// </summary>
internal static class DataFilePermissions
{
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates the folder and an empty database file with owner-only modes, or tightens existing ones.</summary>
    public static void Prepare(string databasePath)
    {
        var directory = Path.GetDirectoryName(databasePath)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return;
        }

        Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        File.SetUnixFileMode(directory, OwnerOnlyDirectory);
        if (!File.Exists(databasePath))
        {
            // An empty file is a valid empty SQLite database; creating it here fixes its mode regardless of the umask.
            using var created = new FileStream(databasePath, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = OwnerOnlyFile,
            });
        }

        Tighten(databasePath);
    }

    /// <summary>Sets 0600 on the database file and its -wal, -shm and -journal companions when they exist.</summary>
    public static void Tighten(string databasePath)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        foreach (var file in new[] { databasePath, databasePath + "-wal", databasePath + "-shm", databasePath + "-journal" })
        {
            if (File.Exists(file))
            {
                File.SetUnixFileMode(file, OwnerOnlyFile);
            }
        }
    }
}
