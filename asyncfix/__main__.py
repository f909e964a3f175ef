from asyncfix.warm import main

if __name__ == "__main__":
    main()
